"""A worker stopping while PostgreSQL is unreachable, with a job claimed
early behind a busy thread (``FOLIO_JOBS_EARLY_CLAIMS=true``,
:mod:`folio_shared.jobs.reserve`): the stop ends in bounded time, and the
job still runs later."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback

import dramatiq
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import EchoV1, new_id
from support.jobs import wait_for, wait_status
from support.tcp_proxy import TcpProxy
from support.workers import start_in_process

from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

#: Longest stop accepted: Dramatiq's 1 s for the threads, the undo's 5 s,
#: the consumers' 5 s for held acks, and room for a loaded machine.
STOP_BOUND_S = 30.0


def _stack(thread: threading.Thread) -> str:
    frame = sys._current_frames().get(thread.ident or 0)
    return "".join(traceback.format_stack(frame)) if frame is not None else ""


async def test_a_worker_stopping_with_postgres_unreachable_stops_and_its_early_claim_runs_later(
    engine: AsyncEngine,
    database_url: str,
    settings: FolioSettings,
    redis: aioredis.Redis,
    key: str,
) -> None:
    # Given a worker of one thread, claiming early, that reaches PostgreSQL
    # through a proxy, its thread held by an untracked message
    url = make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(port=proxy.port).render_as_string(hide_password=False)
    early = settings.model_copy(
        update={
            "database": settings.database.model_copy(update={"url": through}),
            "jobs": settings.jobs.model_copy(update={"early_claims": True}),
        }
    )
    running = start_in_process(early, threads=1)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait(60)

    dramatiq.actor(hold, actor_name=f"test.hold.{key}", broker=running.broker).send()
    jobs = Jobs(engine, running.broker, redis)
    again = None
    try:
        assert await asyncio.to_thread(held.wait, 20), "the thread never took the holding message"
        # And a job whose message was fetched and claimed behind it
        job_id = new_id()
        await jobs.enqueue(EchoV1(job_id=str(job_id), key=key))

        async def claimed() -> bool:
            async with engine.connect() as conn:
                status = await conn.scalar(
                    sa.text("SELECT status FROM jobs WHERE id = :id"), {"id": job_id}
                )
            return status == "running"

        await wait_for(claimed, timeout_s=20, what="the early claim")
        # When PostgreSQL stops answering (nothing refused, nothing closed)
        # and the worker is stopped
        proxy.freeze()
        stopping = threading.Thread(target=running.worker.stop, args=(1_000,), daemon=True)
        started = time.monotonic()
        stopping.start()
        await asyncio.to_thread(stopping.join, STOP_BOUND_S)
        took = time.monotonic() - started
        # Then the stop ended, though the claim could not be given back
        assert not stopping.is_alive(), f"the stop hung:\n{_stack(stopping)}"
        assert took < STOP_BOUND_S
        # And once PostgreSQL answers again, the job runs on another worker
        # (its lease ends, and the reconciler sends it again): not lost
        proxy.thaw()
        release.set()
        again = start_in_process(settings, threads=1)
        done = await wait_status(jobs, job_id, "succeeded", timeout_s=60)
        assert done.attempts <= 2
    finally:
        proxy.thaw()
        release.set()
        if again is not None:
            again.stop()
        running.broker.close()
        proxy.close()
