"""The API key cache against the real database: one lookup at a time per
key, and keys in use looked up again before their entry expires."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.domain.auth.keys import KeyCache
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import ApiKey
from folio_shared.errors import Unauthorized

pytestmark = pytest.mark.integration


class CountingSessions:
    """A session factory that counts the sessions opened (one per lookup)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.factory = create_session_factory(engine)
        self.opened = 0

    def __call__(self) -> Any:
        self.opened += 1
        return self.factory()


async def test_concurrent_requests_of_a_key_share_one_lookup(engine: AsyncEngine) -> None:
    # Given a key nobody resolved yet, and 50 requests of it at once
    carol = await make_tenant(engine, "carol")
    cache = KeyCache()
    sessions: Any = CountingSessions(engine)
    principals = await asyncio.gather(*[cache.resolve(carol.key, sessions) for _ in range(50)])
    # Then the database was asked once, and every request got the tenant
    assert sessions.opened == 1
    assert {p.tenant_id for p in principals} == {carol.tenant_id}
    # and unknown keys are never cached, but still asked once at a time
    unknown = carol.key[:-4] + ("aaaa" if not carol.key.endswith("aaaa") else "bbbb")
    refused = await asyncio.gather(
        *[cache.resolve(unknown, sessions) for _ in range(20)],
        return_exceptions=True,
    )
    assert all(isinstance(r, Unauthorized) for r in refused)
    assert sessions.opened == 2


async def test_a_key_in_use_is_looked_up_again_before_it_expires(engine: AsyncEngine) -> None:
    # Given a key resolved with a 3 s lifetime, looked up again after 2.25 s
    dave = await make_tenant(engine, "dave")
    cache = KeyCache(ttl_s=3.0, refresh_after=0.75)
    sessions: Any = CountingSessions(engine)
    await cache.resolve(dave.key, sessions)
    # When it is used after 2.4 s
    await asyncio.sleep(2.4)
    await cache.resolve(dave.key, sessions)
    # Then that request was answered from the cache while the key was looked up
    # again in the background, which gave the entry a new lifetime (to ~5.4 s)
    await asyncio.sleep(0.1)
    assert sessions.opened == 2
    await asyncio.sleep(0.8)  # 3.3 s: past the first lookup's lifetime
    await cache.resolve(dave.key, sessions)
    assert sessions.opened == 2

    # When the key is revoked, the next refresh drops it before it expires
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(ApiKey)
            .where(ApiKey.tenant_id == dave.tenant_id)
            .values(revoked_at=sa.func.now())
        )
    await asyncio.sleep(4.9 - 3.3)  # 4.9 s: in the refresh window of the second lookup
    await cache.resolve(dave.key, sessions)  # cached: still within its lifetime
    await asyncio.sleep(0.15)  # the refresh it started ran
    assert sessions.opened == 3
    with pytest.raises(Unauthorized):  # ~5.1 s: before the entry would have expired
        await cache.resolve(dave.key, sessions)
