"""Resolving ``Authorization: Bearer <key>`` to a :class:`Principal`, with a
short in-process cache.

Every request needs its key resolved; a database round trip each time would
cap the API's throughput, so a resolved key is remembered for ``ttl_s``
seconds (default 30), keyed by the key's SHA-256 (the plain key is never
kept). Consequence, by design: **a revoked key keeps working for at most
``ttl_s`` seconds** on each API process that resolved it recently.
Malformed, unknown and revoked keys are never cached: each such request
asks the database (malformed ones are refused before that, for free).

One lookup at a time per key: requests of a key that is being looked up
wait for that lookup. And a key in use is looked up again in the
background during the last quarter of its ``ttl_s``, while requests keep
using the cached answer (revocation still takes effect within ``ttl_s``).
Without both, every request in flight when a busy key's entry expired
asked the database at once: under load, 100 ORM lookups every ``ttl_s``
(a stall of over 100 ms for every request of the process).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_api.domain.auth.principal import Principal
from folio_shared.db.repositories.api_keys import find_api_key
from folio_shared.errors import Unauthorized
from folio_shared.logging import get_logger
from folio_shared.security import hash_api_key, parse_api_key

log = get_logger(__name__)

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
    ``max_entries`` of them (default 10000; when full, the cache is emptied);
    looked up again in the background once ``refresh_after`` of ``ttl_s``
    has passed (default 0.75)."""

    ttl_s: float = 30.0
    max_entries: int = 10_000
    refresh_after: float = 0.75
    #: digest → (principal, refresh after this time.monotonic(), expires then)
    _entries: dict[str, tuple[Principal, float, float]] = field(default_factory=dict)
    #: digest → its lookup in flight
    _lookups: dict[str, asyncio.Task[Principal | None]] = field(default_factory=dict)

    async def resolve(self, key: str, sessions: async_sessionmaker[AsyncSession]) -> Principal:
        """The principal ``key`` authenticates as; :class:`Unauthorized` if none."""
        parse_api_key(key)  # malformed keys never reach the database
        digest = hash_api_key(key)
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit is not None and hit[2] > now:
            if hit[1] <= now and digest not in self._lookups:
                self._look_up(key, digest, sessions).add_done_callback(_log_failure)
            return hit[0]
        lookup = self._lookups.get(digest) or self._look_up(key, digest, sessions)
        principal = await asyncio.shield(lookup)
        if principal is None:
            raise Unauthorized("invalid or revoked API key")
        return principal

    def _look_up(
        self, key: str, digest: str, sessions: async_sessionmaker[AsyncSession]
    ) -> asyncio.Task[Principal | None]:
        task = asyncio.get_running_loop().create_task(self._find(key, digest, sessions))
        self._lookups[digest] = task
        return task

    async def _find(
        self, key: str, digest: str, sessions: async_sessionmaker[AsyncSession]
    ) -> Principal | None:
        """Look ``key`` up and cache the answer; ``None``: unknown or revoked.
        Leaves :attr:`_lookups` as it ends (a finished lookup is never found there)."""
        try:
            return await self._find_now(key, digest, sessions)
        finally:
            del self._lookups[digest]

    async def _find_now(
        self, key: str, digest: str, sessions: async_sessionmaker[AsyncSession]
    ) -> Principal | None:
        async with sessions() as session:
            row = await find_api_key(session, key)
        if row is None:
            self._entries.pop(digest, None)
            return None
        principal = Principal(key_id=row.id, kind=row.kind, tenant_id=row.tenant_id)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        now = time.monotonic()
        self._entries[digest] = (
            principal,
            now + self.ttl_s * self.refresh_after,
            now + self.ttl_s,
        )
        return principal

    def clear(self) -> None:
        """Forget every resolved key (tests, or after a mass revocation)."""
        self._entries.clear()


def _log_failure(task: asyncio.Task[Principal | None]) -> None:
    """A background lookup that failed (the cached answer stays until it expires)."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("API key refresh failed", error=repr(task.exception()))
