"""API keys: how they look, how they are hashed, how they are checked.

A key reads ``folio_<prefix>_<secret>``:

- ``prefix``: 12 characters ``[a-z0-9]`` (about 62 bits), public. It is
  stored in clear and is how a key's row is found (one indexed lookup);
  it also lets people tell keys apart in logs and lists.
- ``secret``: 32 random bytes (256 bits) from :mod:`secrets`, in lower-case
  base32 without padding (52 characters ``[a-z2-7]``), so the whole key is
  one word that a double-click selects.

Only SHA-256 of the whole key is stored (:func:`hash_api_key`), never the
key: the plain key is shown once, when it is created.

Why a fast hash and not bcrypt/scrypt/argon2: slow, salted hashes exist to
make guessing *low-entropy* secrets (passwords a person chose) expensive
after a database leak. A key with 256 random bits cannot be guessed at any
hash speed, so a slow hash adds no protection; it would only add tens of
milliseconds of CPU to *every* authenticated request, and make the
per-request check a denial-of-service lever. A salt is pointless too: keys
never repeat and cannot be precomputed. The stored hash is compared with
:func:`hmac.compare_digest`, in constant time, so response timing reveals
nothing about how much of a guess matched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string

from folio_shared.errors import Unauthorized

#: Every Folio key starts with this.
KEY_SCHEME = "folio"
#: Length of a key's public prefix.
PREFIX_LENGTH = 12
#: Random bytes in a key's secret part.
SECRET_BYTES = 32

_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_LENGTH = len(base64.b32encode(bytes(SECRET_BYTES)).rstrip(b"="))
_KEY_RE = re.compile(
    rf"{KEY_SCHEME}_(?P<prefix>[a-z0-9]{{{PREFIX_LENGTH}}})_[a-z2-7]{{{_SECRET_LENGTH}}}"
)
_MAX_KEY_LENGTH = len(KEY_SCHEME) + PREFIX_LENGTH + _SECRET_LENGTH + 2


def generate_api_key() -> tuple[str, str, str]:
    """A new random key: ``(key, prefix, key_hash)``. Store the prefix and
    the hash; show the key once and forget it."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = base64.b32encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=").decode().lower()
    key = f"{KEY_SCHEME}_{prefix}_{secret}"
    return key, prefix, hash_api_key(key)


def hash_api_key(key: str) -> str:
    """SHA-256 of ``key``, as 64 lower-case hex digits (see the module's
    notes for why a fast, unsalted hash is the right one for random keys)."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_matches(key: str, key_hash: str) -> bool:
    """``key`` hashes to ``key_hash``, compared in constant time."""
    return hmac.compare_digest(hash_api_key(key), key_hash)


def parse_api_key(key: str) -> str:
    """The public prefix of a well-formed key.

    Raises :class:`~folio_shared.errors.Unauthorized` when ``key`` is not
    shaped like a Folio key (the key itself is never put in the error).
    """
    if len(key) > _MAX_KEY_LENGTH:
        raise Unauthorized("malformed API key")
    match = _KEY_RE.fullmatch(key)
    if match is None:
        raise Unauthorized("malformed API key")
    return match.group("prefix")
