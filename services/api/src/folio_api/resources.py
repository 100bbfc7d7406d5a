"""The API process's clients: Redis, the database engine, the storage, the
broker (send-only) and the job service.

Opened in Litestar's lifespan (never at import), kept in ``app.state`` under
:data:`STATE_KEY`, closed at shutdown in reverse order. The lifespan also
runs the outbox relay (:mod:`folio_api.relay`) as a background task, so jobs
written while Redis was down are sent once it is back even when no worker
runs the reconciler, and the purge of expired idempotency keys
(:mod:`folio_api.domain.idempotency.purge`). Once all is open, the heap is settled
(:func:`folio_api.heap.settle`): no full garbage collection walks the
process's long-lived objects again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import asyncpg
import dramatiq
from litestar import Litestar
from litestar.datastructures import State
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from folio_api.domain.auth.limits import TenantLimits
from folio_api.domain.documents.fast.batching import QueueBatcher
from folio_api.domain.documents.fast.queueing import init_connection
from folio_api.domain.idempotency.purge import run_purge
from folio_api.domain.jobs.hub import StreamHub
from folio_api.heap import settle
from folio_api.relay import run_relay
from folio_shared.broker import create_broker
from folio_shared.db.engine import create_engine, create_raw_pool, create_session_factory
from folio_shared.db.tenancy import tenant_session
from folio_shared.jobs import Jobs
from folio_shared.jobs.pointers import MessagePointers
from folio_shared.jobs.send import AsyncSender
from folio_shared.settings import FolioSettings
from folio_shared.storage import Storage, create_storage
from folio_shared.telemetry import Tracing, configure_tracing

STATE_KEY = "resources"

#: Redis connect/read timeout of the API's client, in seconds.
REDIS_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Resources:
    """What request handlers use: ``settings``, ``redis``, ``engine``,
    ``storage``, ``broker`` (sends only; no middleware), ``jobs`` and
    ``sessions`` (an ``async_sessionmaker`` on ``engine``); for the hot
    paths, ``pg`` (a raw asyncpg pool: autocommitted prepared statements,
    no pre-ping, no reset), ``sender`` (non-blocking sends of tracked
    jobs' messages, :class:`~folio_shared.jobs.send.AsyncSender`) and
    ``batcher`` (``process`` requests queued together on both,
    :class:`~folio_api.domain.documents.fast.batching.QueueBatcher`);
    ``streams``, the one reader of every open event stream
    (:class:`~folio_api.domain.jobs.hub.StreamHub`); ``limits``, what each
    tenant may submit (:class:`~folio_api.domain.auth.limits.TenantLimits`)."""

    settings: FolioSettings
    redis: Redis
    engine: AsyncEngine
    storage: Storage
    broker: dramatiq.Broker | None = None
    jobs: Jobs | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    pg: asyncpg.Pool | None = None
    sender: AsyncSender | None = None
    batcher: QueueBatcher | None = None
    streams: StreamHub | None = None
    limits: TenantLimits = field(default_factory=TenantLimits)


def reads(resources: Resources, tenant_id: uuid.UUID | None) -> AsyncSession:
    """A session for a request's reads and writes: scoped to ``tenant_id``
    by row-level security (a query that forgets its tenant filter still
    sees, changes and deletes only that tenant's rows, and cannot write
    another's; :mod:`folio_shared.db.tenancy`), or the services' own scope
    for an operator (``None``)."""
    assert resources.sessions is not None
    if tenant_id is None:
        return resources.sessions()
    return tenant_session(resources.sessions, tenant_id)


#: A tenant request's writes run behind the same wall as its reads.
writes = reads


def get_resources(state: State) -> Resources:
    """The resources the lifespan put in ``app.state``."""
    resources = state.get(STATE_KEY)
    if not isinstance(resources, Resources):
        raise RuntimeError("API resources are not open (the lifespan has not run)")
    return resources


def open_redis(settings: FolioSettings) -> Redis:
    """The API process's Redis client: a pool of at most
    ``FOLIO_API_REDIS_MAX_CONNECTIONS`` connections (a command waits up to
    :data:`REDIS_TIMEOUT_S` for one, then fails), named ``folio-api-<pid>``
    in ``CLIENT LIST``."""
    pool = BlockingConnectionPool.from_url(
        settings.redis.url,
        max_connections=settings.api.redis_max_connections,
        timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        socket_timeout=REDIS_TIMEOUT_S,
        client_name=f"folio-api-{os.getpid()}",
    )
    return Redis.from_pool(pool)


def lifespan(
    settings: FolioSettings, *, relay_interval_s: float = 2.0
) -> Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]:
    """A Litestar lifespan hook opening and closing the clients for ``settings``.

    The storage must open (folders created, S3 client built); Redis and
    PostgreSQL are connected lazily, so the API starts (and ``/readyz``
    reports them) even while they are down.
    """

    @contextlib.asynccontextmanager
    async def manage(app: Litestar) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            redis = open_redis(settings)
            stack.push_async_callback(redis.aclose)
            streams = StreamHub(
                Redis.from_url(
                    settings.redis.url,
                    socket_connect_timeout=REDIS_TIMEOUT_S,
                    socket_timeout=REDIS_TIMEOUT_S,
                    client_name=f"folio-api-events-{os.getpid()}",
                ),
                per_key=settings.api.sse_streams_per_key,
                per_process=settings.api.sse_streams_per_process,
                namespace=settings.broker.namespace,
            )
            stack.push_async_callback(streams.close)
            engine = create_engine(settings)
            stack.push_async_callback(engine.dispose)
            # min_size=0: nothing connects before the first request
            # connections renewed every 5,000 statements: see queueing.SESSION_SETTINGS
            pg = create_raw_pool(
                settings,
                min_size=0,
                max_size=settings.database.pool_size * 2,
                init=init_connection,
                max_queries=5_000,
            )
            await pg
            stack.push_async_callback(pg.close)
            storage = create_storage(settings)
            await storage.open()
            stack.push_async_callback(storage.close)
            # The API only sends: no worker middleware, nothing connects yet;
            # Tracing puts the request's trace context in every message sent.
            configure_tracing(settings, service_name="api")
            # MessagePointers lets the reconciler find the messages it sent.
            broker = create_broker(settings, middleware=[Tracing(), MessagePointers()])
            stack.callback(broker.close)
            sender = AsyncSender(broker, redis)
            jobs = Jobs(engine, broker, redis, sender=sender)
            app.state[STATE_KEY] = Resources(
                settings,
                redis,
                engine,
                storage,
                broker,
                jobs,
                create_session_factory(engine),
                pg,
                sender,
                QueueBatcher(pg, sender),
                streams,
            )
            relay = asyncio.create_task(
                run_relay(engine, broker, interval_s=relay_interval_s, sender=sender)
            )
            purge = asyncio.create_task(run_purge(pg))
            settle()  # everything opened so far lives as long as the process
            try:
                yield
            finally:
                for task in (relay, purge):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                app.state.pop(STATE_KEY, None)

    return manage
