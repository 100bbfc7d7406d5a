"""A job claimed as its message was fetched, whose worker is SIGKILLed
before any thread ran it, still runs: it never started, so it must not
count as a run that ended with its worker. An early claim never takes a
job's last allowed attempt (``ClaimRequest.early``); with ``max_retries=0``
the reconciler used to quarantine such a job as ``dead`` unrun."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from support.actors import EchoV1
from support.jobs import api_jobs, job_settings, start_echo, wait_for

from folio_devstack.servers import RedisServer
from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def fault_settings(database_url: str, own_redis: RedisServer, tmp_path: Path) -> FolioSettings:
    return job_settings(database_url, own_redis.url, tmp_path, lease_ms=1_500)


@pytest.fixture
async def jobs(database_url: str, fault_settings: FolioSettings) -> AsyncIterator[Jobs]:
    async with api_jobs(database_url, fault_settings) as api:
        yield api


async def test_a_job_never_started_by_a_killed_worker_still_runs(
    jobs: Jobs, spawn: Any, fault_settings: FolioSettings
) -> None:
    key = uuid.uuid4().hex[:8]
    # Given a worker of one thread busy with a long job, and a job that must
    # not be retried sent behind it
    first = spawn(fault_settings, threads=1, FOLIO_JOBS_EARLY_CLAIMS="true")
    busy, behind = await start_echo(jobs, key, 30_000, max_retries=0), uuid.uuid4()
    await jobs.enqueue(EchoV1(job_id=str(behind), key=key), max_retries=0)

    # When the worker is SIGKILLed while that job waits for its thread
    # (once it is claimed, if it is claimed before a thread takes it)
    async def claimed() -> bool:
        return (await jobs.get(behind)).status == "running"

    with contextlib.suppress(AssertionError):
        await wait_for(claimed, timeout_s=10, what="the job behind to be claimed")
    assert (await jobs.get(busy)).status == "running"
    first.kill()
    spawn(fault_settings, threads=1, FOLIO_JOBS_EARLY_CLAIMS="true")

    # Then the job behind it, which never ran, runs and succeeds
    async def final() -> str | None:
        status = (await jobs.get(behind)).status
        return status if status in ("succeeded", "failed", "dead", "cancelled") else None

    status = await wait_for(final, timeout_s=90, what="the job behind to end")
    job = await jobs.get(behind)
    assert status == "succeeded", (status, job.attempts, job.error_message)
