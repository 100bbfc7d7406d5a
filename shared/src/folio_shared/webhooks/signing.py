"""Signing secrets and the Standard Webhooks signature.

A delivery carries three headers (https://www.standardwebhooks.com):

- ``webhook-id``: the event's id (``evt_…``), the same on every attempt;
- ``webhook-timestamp``: seconds since the epoch when this attempt was sent;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` of
  ``"{id}.{timestamp}.{body}"`` keyed with the base64-decoded part of the
  secret after ``whsec_``.

While a secret is being rotated, nothing else changes: the new secret
signs from the next attempt on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: The prefix of signing secrets.
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
#: Bytes of a new secret's key.
SECRET_BYTES = 32


def new_secret() -> str:
    """A new signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three signature headers of one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
