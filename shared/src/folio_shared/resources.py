"""Clients a worker process shares between its actors.

The database engine, the object store and the async Redis client are opened
once per worker process, when the worker boots, on Dramatiq's event-loop
thread (the ``AsyncIO`` middleware's), and closed when it shuts down. They
are never opened at import time, so importing actor modules is free and a
forked process never inherits a parent's sockets.

Actors reach them through :func:`resources`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import dramatiq
import redis.asyncio as aioredis
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from folio_shared.db.engine import create_engine, create_raw_pool, create_session_factory
from folio_shared.errors import ConfigurationError
from folio_shared.logging import get_logger
from folio_shared.settings import FolioSettings, get_settings
from folio_shared.storage import Storage, create_storage

log = get_logger(__name__)


@dataclass
class Resources:
    """What one worker process holds open."""

    settings: FolioSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: Storage
    redis: aioredis.Redis
    #: Raw asyncpg pool for the job engine's per-message statements (one
    #: round trip each: no pre-ping, no BEGIN/COMMIT, no reset on release;
    #: each statement planned once per connection).
    pg: asyncpg.Pool

    @classmethod
    async def open(cls, settings: FolioSettings) -> Resources:
        engine = create_engine(settings)
        storage = create_storage(settings)
        await storage.open()
        client = aioredis.Redis.from_url(settings.redis.url)
        # min_size=0: nothing connects at boot, so a worker started during a
        # PostgreSQL outage boots and works once PostgreSQL is back (it used
        # to boot without resources and fail every message for good)
        # generic plans: the job engine's statements all go by primary key
        pg = await create_raw_pool(
            settings,
            min_size=0,
            max_size=max(4, settings.worker.threads + 2),
            generic_plans=True,
        )
        return cls(settings, engine, create_session_factory(engine), storage, client, pg)

    async def close(self) -> None:
        """Close everything; a database client that cannot close within
        :data:`CLOSE_TIMEOUT_S` is let go: the asyncpg pool's connections
        are terminated, the engine's end with the process."""
        try:
            await asyncio.wait_for(self.pg.close(), CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning("database pool not closed in time; its connections are dropped")
            self.pg.terminate()
        await self.storage.close()
        await self.redis.aclose()
        try:
            await asyncio.wait_for(self.engine.dispose(), CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning("database engine not closed in time; its connections end with the process")


#: Longest wait for a database client to close gracefully at shutdown. A
#: graceful close waits for every connection to be given back, and with
#: PostgreSQL unreachable without refusing (a partition, a host gone) a
#: connection whose statement was abandoned never is: the worker's stop hung.
CLOSE_TIMEOUT_S = 5.0


_current: Resources | None = None


def resources() -> Resources:
    """The worker process's open resources (inside an actor)."""
    if _current is None:
        raise ConfigurationError("worker resources are not open: is WorkerResources installed?")
    return _current


class WorkerResources(Middleware):
    """Opens :class:`Resources` at worker boot and closes them at shutdown.

    Must come after Dramatiq's ``AsyncIO`` middleware, whose event-loop
    thread runs the opening and closing; clients close after the worker's
    running jobs have finished.

    - ``settings``: the settings to open them with (default: the process's).
    """

    def __init__(self, settings: FolioSettings | None = None) -> None:
        self.settings = settings

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        # Before the worker threads start taking messages (Dramatiq starts
        # them before after_worker_boot), right after AsyncIO's loop started.
        global _current
        loop = get_event_loop_thread()
        if loop is None:
            raise ConfigurationError("WorkerResources needs the AsyncIO middleware before it")
        _current = loop.run_coroutine(Resources.open(self.settings or get_settings()))

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        # After the running jobs finished (or the grace period ran out), and
        # before AsyncIO's own after_worker_shutdown stops the loop: Dramatiq
        # runs after_* hooks in reverse middleware order.
        global _current
        loop = get_event_loop_thread()
        if _current is not None and loop is not None:
            loop.run_coroutine(_current.close())
        _current = None


class OnBoot(Middleware):
    """Runs ``fn`` in a thread of its own once the worker has booted (model
    loading, caches), so the worker consumes meanwhile and a slow ``fn``
    never holds up its start.

    - ``fn``: a no-argument callable; its errors are logged, not raised.
    """

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        threading.Thread(target=self._run, name="folio-on-boot", daemon=True).start()

    def _run(self) -> None:
        try:
            self.fn()
        except Exception:  # a failed warm-up leaves the work to the first job
            log.exception("start-up task failed", task=getattr(self.fn, "__name__", "?"))


class OnShutdown(Middleware):
    """Calls ``fn`` when the worker shuts down (child-process pools, caches).

    - ``fn``: a no-argument callable; its errors are logged by Dramatiq.
    """

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self.fn()
