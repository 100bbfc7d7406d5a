"""Resolving ``Authorization: Bearer <key>`` to a :class:`Principal`, with a
short in-process cache.

Every request needs its key resolved; a database round trip each time would
cap the API's throughput, so a resolved key is remembered for ``ttl_s``
seconds (default 30), keyed by the key's SHA-256 (the plain key is never
kept). Consequence, by design: **a revoked key keeps working for at most
``ttl_s`` seconds** on each API process that resolved it recently.
Malformed, unknown and revoked keys are never cached: each such request
asks the database (malformed ones are refused before that, for free).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_api.domain.auth.principal import Principal
from folio_shared.db.repositories.api_keys import find_api_key
from folio_shared.errors import Unauthorized
from folio_shared.security import hash_api_key, parse_api_key

#: Scheme of the ``Authorization`` header.
BEARER = "bearer"


def bearer_key(authorization: str | None) -> str:
    """The key in an ``Authorization: Bearer <key>`` header value."""
    if not authorization:
        raise Unauthorized("missing Authorization header (expected 'Bearer <API key>')")
    scheme, _, key = authorization.strip().partition(" ")
    if scheme.lower() != BEARER or not key.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <API key>'")
    return key.strip()


@dataclass
class KeyCache:
    """Resolved keys, kept ``ttl_s`` seconds (default 30), at most
    ``max_entries`` of them (default 10000; when full, the cache is emptied)."""

    ttl_s: float = 30.0
    max_entries: int = 10_000
    _entries: dict[str, tuple[Principal, float]] = field(default_factory=dict)

    async def resolve(self, key: str, sessions: async_sessionmaker[AsyncSession]) -> Principal:
        """The principal ``key`` authenticates as; :class:`Unauthorized` if none."""
        parse_api_key(key)  # malformed keys never reach the database
        digest = hash_api_key(key)
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with sessions() as session:
            row = await find_api_key(session, key)
        if row is None:
            self._entries.pop(digest, None)
            raise Unauthorized("invalid or revoked API key")
        principal = Principal(key_id=row.id, kind=row.kind, tenant_id=row.tenant_id)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[digest] = (principal, now + self.ttl_s)
        return principal

    def clear(self) -> None:
        """Forget every resolved key (tests, or after a mass revocation)."""
        self._entries.clear()
