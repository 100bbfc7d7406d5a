"""How an admin command reaches the servers: short-lived clients, one run.

Every admin command reads Folio's settings (``FOLIO_DATABASE_URL``,
``FOLIO_REDIS_URL``, ``FOLIO_BROKER_NAMESPACE``, ...), opens the clients it
needs, does its work in one :func:`asyncio.run`, closes them, and reports
failures through :func:`folio_cli.errors.reported`.

- :func:`run`: any coroutine (maintenance tasks);
- :func:`in_session`: one committed database transaction (tenants, keys);
- :func:`with_servers`: the database engine, Redis, the broker and
  :class:`~folio_shared.jobs.Jobs` (queues, jobs, dead letters, pauses).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio_cli.errors import reported
from folio_shared.broker import create_broker
from folio_shared.db.engine import create_engine, create_session_factory
from folio_shared.jobs import Jobs
from folio_shared.settings import get_settings

T = TypeVar("T")


@dataclass
class Servers:
    """The clients one command uses: ``jobs`` (the job engine, over the
    database engine, the broker and Redis), ``redis`` and the broker
    ``namespace`` (prefix of every key)."""

    jobs: Jobs
    redis: aioredis.Redis
    namespace: str

    @property
    def engine(self) -> AsyncEngine:
        """The database engine."""
        return self.jobs.engine


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to the end, its failures reported by the exit-code policy."""
    with reported():
        return asyncio.run(work)


def in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on a short-lived engine."""

    async def go() -> T:
        engine = create_engine(get_settings())
        try:
            async with create_session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return run(go())


def with_servers(work: Callable[[Servers], Awaitable[T]]) -> T:
    """Run ``work`` with the database, Redis and the broker, then close them."""

    async def go() -> T:
        settings = get_settings()
        engine = create_engine(settings)
        client = aioredis.Redis.from_url(settings.redis.url)
        broker = create_broker(settings)
        try:
            jobs = Jobs(engine, broker, client)
            return await work(Servers(jobs, client, settings.broker.namespace))
        finally:
            broker.close()
            await client.aclose()
            await engine.dispose()

    return run(go())
