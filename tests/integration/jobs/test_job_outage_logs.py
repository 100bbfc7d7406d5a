"""A PostgreSQL outage when a worker starts: the worker boots anyway, every
job succeeds once PostgreSQL is back, and the log does not fill with a
traceback per message."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from support.actors import EchoV1
from support.jobs import api_jobs, job_settings, wait_for

from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def outage_settings(database_url: str, test_servers: Any, tmp_path: Path) -> FolioSettings:
    return job_settings(database_url, test_servers.redis_url, tmp_path, lease_ms=3_000)


@pytest.fixture
async def jobs(database_url: str, outage_settings: FolioSettings) -> AsyncIterator[Jobs]:
    async with api_jobs(database_url, outage_settings) as api:
        yield api


async def test_a_worker_started_during_a_postgres_outage_works_once_it_is_back(
    jobs: Jobs,
    spawn: Any,
    outage_settings: FolioSettings,
    database_outage: Callable[[], AbstractAsyncContextManager[None]],
    tmp_path: Path,
) -> None:
    # Given 100 queued jobs
    key = uuid.uuid4().hex[:8]
    ids = [uuid.uuid4() for _ in range(100)]
    for job_id in ids:
        await jobs.enqueue(EchoV1(job_id=str(job_id), key=key, sleep_ms=20))
    # When a worker starts (as its supervisor restarts it) while PostgreSQL
    # refuses connections, for at least 10 s and until the worker has met the
    # outage (a loaded machine can take longer than 10 s to boot it)
    log_path = tmp_path / "worker-0.log"

    def handed_back() -> bool:
        return log_path.exists() and "messages handed back" in log_path.read_text()

    async with database_outage():
        spawn(outage_settings)
        await asyncio.sleep(10.0)
        for _ in range(100):
            if handed_back():
                break
            await asyncio.sleep(0.5)
    await jobs.engine.dispose()  # the test's own connections were ended too

    # Then once PostgreSQL is back, every job succeeds
    async def succeeded() -> bool:
        return all([(await jobs.get(i)).status == "succeeded" for i in ids])

    await wait_for(succeeded, timeout_s=90, what="every job to succeed")
    # And the worker's log says so in a few lines, not a traceback (or a
    # line) per message, and no actor ran outside its job
    log = log_path.read_text()
    assert "not inside a tracked job" not in log
    assert "Traceback" not in log, log[-3000:]
    assert len(log.splitlines()) < 60, log[-3000:]
    assert "messages handed back" in log
