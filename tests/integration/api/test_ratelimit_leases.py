"""The rate limiter's leases against the real Redis: never past the limit,
exact for small limits, shared by several API processes."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis
from support.windows import fresh_window

from folio_api.domain.auth.ratelimit import MAX_LEASE, RateLimiter
from folio_shared.errors import RateLimited

pytestmark = pytest.mark.integration


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
    await fresh_window(margin_s=15)
    limiter = RateLimiter(150)
    assert limiter.lease_size == 1
    assert await allowed([limiter], redis, uuid.uuid4(), 200) == 150


async def test_a_large_limit_is_spent_in_leases_and_never_exceeded(redis: Redis) -> None:
    await fresh_window(margin_s=15)
    limiter = RateLimiter(1000)
    assert limiter.lease_size == 10
    key = uuid.uuid4()
    assert await allowed([limiter], redis, key, 1200) == 1000
    with pytest.raises(RateLimited) as refused:
        await limiter.hit(redis, key)
    assert 1 <= refused.value.details["retry_after_s"] <= 60
    assert RateLimiter(10**9).lease_size == MAX_LEASE


async def test_replicas_share_the_limit(redis: Redis) -> None:
    await fresh_window(margin_s=15)
    replicas = [RateLimiter(1000) for _ in range(3)]
    ok = await allowed(replicas, redis, uuid.uuid4(), 1500)
    # never past the limit; at most each replica's unspent lease and a half
    # (the one fetched ahead) short of it
    assert 1000 - 3 * 1.5 * replicas[0].lease_size <= ok <= 1000


async def test_concurrent_requests_share_one_lease_at_a_time(redis: Redis) -> None:
    # Given a limiter of leases of 10, and 100 requests of one key at once
    await fresh_window(margin_s=15)
    limiter = RateLimiter(1000)
    key = uuid.uuid4()
    calls = 0
    real_pipeline = redis.pipeline

    def counting_pipeline(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return real_pipeline(*args, **kwargs)

    redis.pipeline = counting_pipeline  # type: ignore[method-assign]
    try:
        await asyncio.gather(*[limiter.hit(redis, key) for _ in range(100)])
    finally:
        redis.pipeline = real_pipeline  # type: ignore[method-assign]

    # Then Redis was asked for 10 leases, one at a time, and counted 100 and
    # at most the lease fetched ahead (requests that found a lease being
    # fetched waited for it instead of each fetching their own and dropping
    # the others' unspent requests)
    window = int(time.time() // 60)
    assert 100 <= int(await redis.get(f"folio:ratelimit:{key}:{window}")) <= 110
    assert 10 <= calls <= 11


async def test_the_next_lease_is_fetched_before_the_last_one_is_spent(redis: Redis) -> None:
    # Given a limiter of leases of 10 whose first lease is taken
    await fresh_window(margin_s=15)
    limiter = RateLimiter(1000)
    key = uuid.uuid4()
    await limiter.hit(redis, key)
    # When a request spends the lease down to half
    for _ in range(4):
        await limiter.hit(redis, key)
    assert key in limiter._fetching  # the next lease is on its way
    await asyncio.sleep(0.1)
    # Then the next lease was added to what was left, and Redis counted both
    window = int(time.time() // 60)
    assert int(await redis.get(f"folio:ratelimit:{key}:{window}")) == 20
    assert limiter._leases[key] == (window, 15)
    # and the next 9 requests are served without asking Redis
    for _ in range(9):
        await limiter.hit(redis, key)
    assert int(await redis.get(f"folio:ratelimit:{key}:{window}")) == 20
    assert key not in limiter._fetching


async def test_a_refused_key_is_refused_without_asking_redis_again(redis: Redis) -> None:
    await fresh_window(margin_s=15)
    limiter = RateLimiter(150)
    key = uuid.uuid4()
    assert await allowed([limiter], redis, key, 150) == 150
    refused = await asyncio.gather(
        *[limiter.hit(redis, key) for _ in range(20)], return_exceptions=True
    )
    assert all(isinstance(r, RateLimited) for r in refused)
    window = int(time.time() // 60)
    # one more ask of Redis found the limit spent; the others were refused locally
    assert int(await redis.get(f"folio:ratelimit:{key}:{window}")) == 151


async def test_a_lease_of_the_window_before_is_not_spent(redis: Redis) -> None:
    # Given a process holding a lease of the minute before, and a fetch of a
    # lease of that minute still in flight (a request at a window edge)
    await fresh_window(margin_s=15)
    limiter = RateLimiter(1000)
    key = uuid.uuid4()
    window = int(time.time() // 60)
    limiter._leases[key] = (window - 1, 3)
    limiter._fetch(redis, key, window - 1)
    # When requests of the new minute come
    await asyncio.wait_for(asyncio.gather(*[limiter.hit(redis, key) for _ in range(25)]), 5)
    # Then they were counted in the new minute's window, not spent from the old lease
    # (and at most the lease and a half a process may hold unspent)
    assert 25 <= int(await redis.get(f"folio:ratelimit:{key}:{window}")) <= 25 + 15
    assert limiter._leases[key][0] == window
    assert not limiter._fetching or all(not t.done() for t in limiter._fetching.values())
