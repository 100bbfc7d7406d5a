"""Creating Folio's async database engine and sessions.

Nothing here runs at import time: services call :func:`create_engine` in
their start-up hook and ``await engine.dispose()`` on shutdown.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from folio_shared.db.tenancy import enter_app_role, enter_app_role_sync
from folio_shared.settings import FolioSettings, get_settings


def async_database_url(url: str) -> str:
    """``url`` with the asyncpg driver: ``postgres://`` and ``postgresql://``
    become ``postgresql+asyncpg://``; other URLs are returned unchanged."""
    for scheme in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+asyncpg://" + url.removeprefix(scheme)
    return url


#: A connection given back to the pool less than this long ago is used
#: again without a ping (see :func:`create_engine`).
PING_AFTER_IDLE_S = 1.0
_IDLE_SINCE = "folio_idle_since"


def create_engine(settings: FolioSettings | None = None) -> AsyncEngine:
    """An asyncpg engine for ``settings.database`` (default: :func:`get_settings`).

    Pool: up to twice ``FOLIO_DATABASE_POOL_SIZE`` connections, opened as
    the load needs them and kept. Not SQLAlchemy's overflow: connections
    over ``pool_size`` are closed as soon as they are given back, so a load
    that needs a few more churns them, and every new connection costs
    PostgreSQL a backend start (uploads at 100 concurrent requests spent
    more CPU there than on their own statements).

    A connection idle in the pool for :data:`PING_AFTER_IDLE_S` or more is
    pinged (one ``SELECT 1``) when taken; a dead one is replaced before
    use, so a PostgreSQL restart costs a retry, not a burst of errors.
    Not ``pool_pre_ping``: the asyncpg dialect pings every checkout with
    three round trips (``BEGIN``, an empty statement, ``ROLLBACK``), six of
    an upload's sixteen. A connection given back a moment ago has just
    worked; one that died since fails like any connection lost mid-request,
    and SQLAlchemy then renews the pool.

    Each new connection acts as role ``folio_app`` in scope ``system``
    (:mod:`folio_shared.db.tenancy`).
    """
    db = (settings or get_settings()).database
    engine = create_async_engine(
        async_database_url(db.url),
        pool_size=db.pool_size * 2,
        max_overflow=0,
        echo=db.echo,
    )
    pool = engine.sync_engine.pool
    event.listen(pool, "connect", enter_app_role_sync)  # row-level security's role
    event.listen(pool, "connect", _mark_idle)
    event.listen(pool, "checkin", _mark_idle)
    event.listen(pool, "checkout", _ping_if_idle)
    return engine


def _mark_idle(dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) < PING_AFTER_IDLE_S:
        return
    try:
        # Not an empty statement: asyncpg's ``execute`` fails on the empty
        # reply after the round trip worked, and every connection idle for
        # a second was replaced (a new backend and type look-ups each time).
        dbapi_connection.run_async(lambda conn: conn.execute("SELECT 1"))
    except Exception as e:  # the pool replaces it (and tries again)
        raise DisconnectionError(f"pooled connection is dead: {e!r}") from e


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions bound to ``engine``. Objects stay readable after commit
    (``expire_on_commit=False``): an expired attribute would need a lazy
    load, which async sessions cannot do implicitly."""
    return async_sessionmaker(engine, expire_on_commit=False)


def asyncpg_dsn(url: str) -> str:
    """``url`` (any of the forms the settings accept) as a plain
    ``postgresql://`` DSN for asyncpg itself."""
    return "postgresql://" + url.split("://", 1)[1]


#: Session settings of a pool that plans its statements once. The job
#: engine's batched claims and outcomes (``unnest`` of arrays, a locking
#: CTE, an update and an event insert) were planned anew at each run, as
#: PostgreSQL does for a prepared statement while its custom plans look
#: cheaper than the generic one: that planning was about half of
#: PostgreSQL's CPU per tracked job (``bench/job_pg_cost.py``). Every
#: such statement finds its jobs by primary key, so the generic plan is the
#: custom one.
GENERIC_PLANS = {"plan_cache_mode": "force_generic_plan"}


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Connections of a raw pool hold no session state to reset: every
    statement on them is a single autocommitted one."""


def create_raw_pool(
    settings: FolioSettings,
    *,
    min_size: int,
    max_size: int,
    init: Callable[[asyncpg.Connection], Awaitable[Any]] | None = None,
    max_queries: int = 50_000,
    generic_plans: bool = False,
) -> asyncpg.Pool:
    """A raw asyncpg pool for hot paths (await it to open): autocommitted
    prepared statements, one round trip each, no pre-ping, no reset on
    release. ``min_size=0`` connects nothing before the first use; a
    connection is replaced after ``max_queries`` statements (asyncpg's
    default 50,000). Each connection acts as role ``folio_app`` in scope
    ``system`` (:mod:`folio_shared.db.tenancy`) before ``init`` runs.

    ``generic_plans``: the connections plan each prepared statement once
    (``plan_cache_mode = force_generic_plan``) instead of PostgreSQL's
    default, which plans again on every run while it finds the custom plan
    cheaper; for a pool whose statements all find their rows by primary
    key, where a custom plan cannot do better (see :data:`GENERIC_PLANS`).
    """

    async def setup(conn: asyncpg.Connection) -> None:
        await enter_app_role(conn)
        if init is not None:
            await init(conn)

    return asyncpg.create_pool(
        asyncpg_dsn(settings.database.url),
        min_size=min_size,
        max_size=max_size,
        init=setup,
        reset=_no_reset,
        max_queries=max_queries,
        server_settings=GENERIC_PLANS if generic_plans else None,
    )
