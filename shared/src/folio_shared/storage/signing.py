"""HMAC-SHA256 signed, expiring tokens for the local backend's URLs.

A token grants one operation (``GET`` or ``PUT``) on one key until an
instant, with the bounds the server enforces (``max_bytes``,
``content_type``) and, for downloads, the file name to present. It is
``<payload>.<signature>``, both base64url without padding; the payload is
compact JSON. Tokens are not encrypted: they name the key, so never put a
secret in a key.

Every API replica must share the secret (``FOLIO_STORAGE_SIGNING_SECRET``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from folio_shared.errors import InvalidSignature

Method = Literal["GET", "PUT"]

#: Tokens longer than this are refused before any decoding (bytes).
MAX_TOKEN_BYTES = 8192


@dataclass(frozen=True, slots=True)
class SignedGrant:
    """What a verified token allows.

    - ``method``: ``"GET"`` (download) or ``"PUT"`` (upload).
    - ``key``: the storage key.
    - ``expires_at_s``: Unix time (seconds) after which the token is refused.
    - ``max_bytes``: largest upload accepted (``None`` for downloads).
    - ``content_type``: the only upload type accepted (``None`` for downloads).
    - ``filename``: name for ``Content-Disposition`` (downloads; optional).
    """

    method: Method
    key: str
    expires_at_s: int
    max_bytes: int | None = None
    content_type: str | None = None
    filename: str | None = None


class Signer:
    """Signs and verifies :class:`SignedGrant` tokens.

    - ``secret``: the HMAC key (at least 16 bytes).
    - ``clock``: returns Unix time in seconds (default :func:`time.time`;
      tests pass their own).
    """

    def __init__(self, secret: bytes | str, *, clock: Callable[[], float] | None = None) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        if len(raw) < 16:
            raise ValueError("the signing secret must be at least 16 bytes")
        self._secret = raw
        self._clock: Callable[[], float] = clock or time.time

    def now_s(self) -> float:
        """The signer's current Unix time, in seconds."""
        return self._clock()

    def sign(
        self,
        method: Method,
        key: str,
        *,
        expires_at_s: int,
        max_bytes: int | None = None,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> str:
        """A token granting ``method`` on ``key`` until ``expires_at_s``."""
        payload: dict[str, object] = {"m": method, "k": key, "e": int(expires_at_s)}
        if max_bytes is not None:
            payload["n"] = int(max_bytes)
        if content_type is not None:
            payload["t"] = content_type
        if filename is not None:
            payload["f"] = filename
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{_b64(self._mac(body))}"

    def verify(self, token: str, *, method: Method) -> SignedGrant:
        """The grant in ``token``, or :class:`InvalidSignature` if forged,
        altered, expired, malformed or issued for another method."""
        if len(token) > MAX_TOKEN_BYTES or token.count(".") != 1:
            raise InvalidSignature("malformed signed URL token")
        body, signature = token.split(".")
        try:
            given = _unb64(signature)
        except ValueError as e:
            raise InvalidSignature("malformed signed URL token") from e
        if not hmac.compare_digest(given, self._mac(body)):
            raise InvalidSignature("signed URL token signature does not match")
        try:
            data = json.loads(_unb64(body))
            grant = SignedGrant(
                method=data["m"],
                key=str(data["k"]),
                expires_at_s=int(data["e"]),
                max_bytes=None if data.get("n") is None else int(data["n"]),
                content_type=data.get("t"),
                filename=data.get("f"),
            )
        except (ValueError, KeyError, TypeError) as e:  # signed by us, so unexpected
            raise InvalidSignature("malformed signed URL token") from e
        if grant.method != method:
            raise InvalidSignature(f"signed URL is for {grant.method}, not {method}")
        if self.now_s() > grant.expires_at_s:
            raise InvalidSignature("signed URL has expired", key=grant.key)
        return grant

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._secret, b"folio-storage-v1." + body.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, UnicodeEncodeError) as e:
        raise ValueError("not base64url") from e
