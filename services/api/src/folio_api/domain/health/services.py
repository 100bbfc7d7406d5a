"""Readiness checks: Redis (PING), PostgreSQL (``SELECT 1``), storage (``check()``),
and the stalled-job count that makes a ready API report *degraded*.

All run concurrently, each under its own timeout, so one hung dependency
answers "timed out" instead of stalling the probe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.ops.stalled import count_stalled
from folio_shared.storage import Storage

#: Time each dependency gets to answer, in seconds.
CHECK_TIMEOUT_S = 1.5

OK = "ok"


async def check_redis(redis: Redis) -> None:
    """PING the API's Redis."""
    await redis.ping()


async def check_postgres(engine: AsyncEngine) -> None:
    """Run ``SELECT 1`` on a pooled connection."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def run_checks(
    checks: dict[str, Callable[[], Awaitable[None]]], *, timeout_s: float = CHECK_TIMEOUT_S
) -> dict[str, str]:
    """Run ``checks`` concurrently: ``{name: "ok" | "error: <reason>"}``, in input order."""

    async def one(check: Callable[[], Awaitable[None]]) -> str:
        try:
            await asyncio.wait_for(check(), timeout=timeout_s)
        except TimeoutError:
            return f"error: no answer within {timeout_s:g} s"
        except Exception as e:  # any failure means "not ready"; the reason is reported
            reason = str(e) or type(e).__name__
            return f"error: {type(e).__name__}: {reason}"
        return OK

    results = await asyncio.gather(*(one(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


async def check_readiness(
    redis: Redis,
    engine: AsyncEngine,
    storage: Storage,
    *,
    timeout_s: float = CHECK_TIMEOUT_S,
) -> dict[str, str]:
    """Redis, PostgreSQL and storage, as :func:`run_checks` reports them."""
    return await run_checks(
        {
            "redis": lambda: check_redis(redis),
            "postgres": lambda: check_postgres(engine),
            "storage": storage.check,
        },
        timeout_s=timeout_s,
    )


async def stalled_jobs(engine: AsyncEngine, *, timeout_s: float = CHECK_TIMEOUT_S) -> int | None:
    """How many jobs are stalled (:func:`~folio_shared.ops.stalled.count_stalled`),
    or ``None`` when that cannot be told in ``timeout_s`` seconds (no jobs
    table yet, a slow query): the watchdog only ever degrades readiness,
    it never fails it."""
    try:
        return await asyncio.wait_for(count_stalled(engine), timeout=timeout_s)
    except Exception:  # a missing count must not make the API unready
        return None
