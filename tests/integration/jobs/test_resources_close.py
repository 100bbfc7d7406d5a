"""Closing a process's clients while PostgreSQL is silent.

A graceful close waits for every pooled connection to come back; with
PostgreSQL unreachable without refusing (a partition, a host gone) a
connection whose statement is stuck never does, and a stopping worker hung
in ``Resources.close``. Each database client now gets
``CLOSE_TIMEOUT_S`` and is then let go.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from support.tcp_proxy import TcpProxy

from folio_shared.resources import CLOSE_TIMEOUT_S, Resources
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


async def test_closing_with_postgres_silent_ends_in_bounded_time(
    database_url: str, settings: FolioSettings
) -> None:
    # Given a process's clients that reach PostgreSQL through a proxy, each
    # database client with a statement under way when PostgreSQL goes silent
    url = make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(port=proxy.port).render_as_string(hide_password=False)
    res = await Resources.open(
        settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": through})}
        )
    )
    stuck: list[asyncio.Task[object]] = []
    try:
        async with res.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        await res.pg.fetchval("SELECT 1")
        proxy.freeze()

        async def stuck_engine() -> None:
            async with res.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 2"))

        stuck += [
            asyncio.create_task(stuck_engine()),
            asyncio.create_task(res.pg.fetchval("SELECT 3")),
        ]
        await asyncio.sleep(0.5)

        # When the process closes them
        started = time.monotonic()
        await asyncio.wait_for(res.close(), 6 * CLOSE_TIMEOUT_S)

        # Then the close ends within the two clients' time limits
        assert time.monotonic() - started < 2 * CLOSE_TIMEOUT_S + 3
    finally:
        proxy.thaw()
        for task in stuck:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        proxy.close()
