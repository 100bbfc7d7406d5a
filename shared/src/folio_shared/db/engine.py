"""Creating Folio's async database engine and sessions.

Nothing here runs at import time: services call :func:`create_engine` in
their start-up hook and ``await engine.dispose()`` on shutdown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from folio_shared.settings import FolioSettings, get_settings


def async_database_url(url: str) -> str:
    """``url`` with the asyncpg driver: ``postgres://`` and ``postgresql://``
    become ``postgresql+asyncpg://``; other URLs are returned unchanged."""
    for scheme in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+asyncpg://" + url.removeprefix(scheme)
    return url


def create_engine(settings: FolioSettings | None = None) -> AsyncEngine:
    """An asyncpg engine for ``settings.database`` (default: :func:`get_settings`).

    Pool: ``FOLIO_DATABASE_POOL_SIZE`` connections kept, as many again may
    be opened under load (``max_overflow``); every connection is checked
    with a cheap ping when taken from the pool (``pool_pre_ping``), so a
    PostgreSQL restart costs one retry, not a burst of errors.
    """
    db = (settings or get_settings()).database
    return create_async_engine(
        async_database_url(db.url),
        pool_size=db.pool_size,
        max_overflow=db.pool_size,
        pool_pre_ping=True,
        echo=db.echo,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions bound to ``engine``. Objects stay readable after commit
    (``expire_on_commit=False``): an expired attribute would need a lazy
    load, which async sessions cannot do implicitly."""
    return async_sessionmaker(engine, expire_on_commit=False)


def asyncpg_dsn(url: str) -> str:
    """``url`` (any of the forms the settings accept) as a plain
    ``postgresql://`` DSN for asyncpg itself."""
    return "postgresql://" + url.split("://", 1)[1]


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
) -> asyncpg.Pool:
    """A raw asyncpg pool for hot paths (await it to open): autocommitted
    prepared statements, one round trip each, no pre-ping, no reset on
    release. ``min_size=0`` connects nothing before the first use; a
    connection is replaced after ``max_queries`` statements (asyncpg's
    default 50,000)."""
    return asyncpg.create_pool(
        asyncpg_dsn(settings.database.url),
        min_size=min_size,
        max_size=max_size,
        init=init,
        reset=_no_reset,
        max_queries=max_queries,
    )
