"""The rate limiter's leases against the real Redis: never past the limit,
exact for small limits, shared by several API processes."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis

from folio_api.domain.auth.ratelimit import MAX_LEASE, RateLimiter
from folio_shared.errors import RateLimited

pytestmark = pytest.mark.integration


async def fresh_window() -> None:
    """Start well inside a one-minute window (a window edge resets counts)."""
    left = 60 - time.time() % 60
    if left < 15:
        await asyncio.sleep(left + 0.1)


async def allowed(limiters: list[RateLimiter], redis: Redis, key: uuid.UUID, tries: int) -> int:
    """Requests let through, sent round-robin over ``limiters``."""
    ok = 0
    for i in range(tries):
        try:
            await limiters[i % len(limiters)].hit(redis, key)
        except RateLimited:
            continue
        ok += 1
    return ok


async def test_a_small_limit_is_exact(redis: Redis) -> None:
    await fresh_window()
    limiter = RateLimiter(150)
    assert limiter.lease_size == 1
    assert await allowed([limiter], redis, uuid.uuid4(), 200) == 150


async def test_a_large_limit_is_spent_in_leases_and_never_exceeded(redis: Redis) -> None:
    await fresh_window()
    limiter = RateLimiter(1000)
    assert limiter.lease_size == 10
    key = uuid.uuid4()
    assert await allowed([limiter], redis, key, 1200) == 1000
    with pytest.raises(RateLimited) as refused:
        await limiter.hit(redis, key)
    assert 1 <= refused.value.details["retry_after_s"] <= 60
    assert RateLimiter(10**9).lease_size == MAX_LEASE


async def test_replicas_share_the_limit(redis: Redis) -> None:
    await fresh_window()
    replicas = [RateLimiter(1000) for _ in range(3)]
    ok = await allowed(replicas, redis, uuid.uuid4(), 1500)
    # never past the limit; at most each replica's unspent lease short of it
    assert 1000 - 3 * replicas[0].lease_size <= ok <= 1000
