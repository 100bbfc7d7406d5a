"""Readiness checks: Redis (PING), PostgreSQL (``SELECT 1``), storage (``check()``),
and what the API can still do with what answers.

All run concurrently, each under its own timeout, so one hung dependency
answers ``"timed out"`` instead of stalling the probe. A check's result
names the state only (``"ok"``, ``"unreachable"``, ``"timed out"``): the
exception itself (hostnames, SQL) goes to the API's log, never to the
unauthenticated probe.

PostgreSQL and storage are *required*: without either the API can serve
nothing useful, and the probe fails. Redis is not: with Redis down the
outbox keeps uploads and ``process`` working (their messages are sent once
Redis is back), so the API stays in its Service, *degraded* (:func:`verdict`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.logging import get_logger
from folio_shared.ops.stalled import count_stalled
from folio_shared.storage import Storage

log = get_logger(__name__)

#: Time each dependency gets to answer, in seconds.
CHECK_TIMEOUT_S = 1.5

OK = "ok"
UNREACHABLE = "unreachable"
TIMED_OUT = "timed out"

#: Dependencies without which the API is not ready (503).
REQUIRED = ("postgres", "storage")


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
    """Run ``checks`` concurrently: ``{name: "ok" | "unreachable" | "timed out"}``,
    in input order; a failure's exception is logged."""

    async def one(name: str, check: Callable[[], Awaitable[None]]) -> str:
        try:
            await asyncio.wait_for(check(), timeout=timeout_s)
        except TimeoutError:
            log.warning("readiness check timed out", dependency=name, timeout_s=timeout_s)
            return TIMED_OUT
        except Exception as e:  # any failure means "unreachable"; the log says why
            log.warning("readiness check failed", dependency=name, error=repr(e))
            return UNREACHABLE
        return OK

    results = await asyncio.gather(*(one(name, check) for name, check in checks.items()))
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


def verdict(checks: dict[str, str]) -> tuple[list[str], list[str]]:
    """``(failing, degraded)``: the required dependencies that do not answer
    (the API is not ready), and the others (it is ready, degraded)."""
    down = [name for name, result in checks.items() if result != OK]
    return [n for n in down if n in REQUIRED], [n for n in down if n not in REQUIRED]


async def stalled_jobs(engine: AsyncEngine, *, timeout_s: float = CHECK_TIMEOUT_S) -> int | None:
    """How many jobs are stalled (:func:`~folio_shared.ops.stalled.count_stalled`),
    or ``None`` when that cannot be told in ``timeout_s`` seconds (no jobs
    table yet, a slow query): the watchdog only ever degrades readiness,
    it never fails it."""
    try:
        return await asyncio.wait_for(count_stalled(engine), timeout=timeout_s)
    except Exception:  # a missing count must not make the API unready
        return None
