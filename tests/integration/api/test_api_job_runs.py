"""A retried job's live feed follows its new run: a client connecting
after the retry, without ``Last-Event-ID``, does not get the earlier run's
end, and the Python client's ``wait_for_job`` waits for the new one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from apikit import TenantKey, api_settings, make_tenant, pdf_bytes
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.jobs import finish_as_worker
from support.live_server import LiveServer, serve, sse_events

from folio_client import Folio
from folio_shared.jobs import events

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, test_servers: Any
) -> Iterator[LiveServer]:
    settings = api_settings(
        tmp_path_factory.mktemp("runs"), database_url=database_url, redis_url=test_servers.redis_url
    )
    with serve(lambda _: settings, sse_heartbeat_s=0.3) as server:
        yield server


def finish_later(
    database_url: str, redis_url: str, job_id: str, status: str, after_s: float
) -> threading.Thread:
    """A "worker" ending the job's new run after ``after_s``, in a thread."""

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        try:
            await asyncio.sleep(after_s)
            await events.publish(redis, job_id, "state", {"status": "running", "attempt": 1})
            await finish_as_worker(database_url, redis, job_id, status, attempt=1)
        finally:
            await redis.aclose()

    thread = threading.Thread(target=asyncio.run, args=(run(),))
    thread.start()
    return thread


def failed_job(folio: Folio, database_url: str, redis_url: str, name: str) -> str:
    """A job whose first run failed (row and feed, as a worker leaves them)."""
    upload = folio.upload(pdf_bytes(name), filename=f"{name}.pdf")
    assert upload.job is not None
    finish_later(database_url, redis_url, upload.job.id, "failed", 0).join()
    return upload.job.id


async def follow(live: LiveServer, who: TenantKey, job_id: str) -> httpx.Response:
    """``GET /v1/jobs/{id}/events`` without ``Last-Event-ID``, read to its end."""
    async with httpx.AsyncClient(base_url=live.base_url, timeout=20) as client:
        return await client.get(f"/v1/jobs/{job_id}/events", headers=who.headers)


async def test_a_retried_job_s_stream_follows_the_new_run(
    live: LiveServer, engine: AsyncEngine, database_url: str, test_servers: Any
) -> None:
    who: TenantKey = await make_tenant(engine, "runs")
    with Folio(live.base_url, who.key) as folio:
        job_id = failed_job(folio, database_url, test_servers.redis_url, "retried-stream")
        # When the job is retried and a client then follows it from the start
        assert folio.retry(job_id).status in ("pending", "queued")
        worker = finish_later(database_url, test_servers.redis_url, job_id, "succeeded", 1.0)
        response = await follow(live, who, job_id)
        worker.join()
    # Then it sees the new run only, to its end
    received = sse_events(response.text)
    states = [data.get("status") for kind, data in received if kind == "state"]
    assert "failed" not in states
    assert states[0] == "pending"
    assert received[-1] == ("state", {"status": "succeeded", "attempt": 1})


async def test_an_earlier_run_s_end_left_on_the_feed_does_not_end_the_stream(
    live: LiveServer, engine: AsyncEngine, database_url: str, test_servers: Any, redis: Redis
) -> None:
    who: TenantKey = await make_tenant(engine, "stale")
    with Folio(live.base_url, who.key) as folio:
        job_id = failed_job(folio, database_url, test_servers.redis_url, "stale-end")
        folio.retry(job_id)
        # Given the earlier run's end still on the feed (Redis failed at the retry)
        await events.publish(redis, job_id, "state", {"status": "failed", "attempt": 4})
        worker = finish_later(database_url, test_servers.redis_url, job_id, "succeeded", 1.0)
        response = await follow(live, who, job_id)
        worker.join()
    # Then the stream skips it and ends with the job's real end
    received = sse_events(response.text)
    assert ("state", {"status": "failed", "attempt": 4}) not in received
    assert received[-1] == ("state", {"status": "succeeded", "attempt": 1})


async def test_wait_for_job_waits_for_the_retried_run(
    live: LiveServer, engine: AsyncEngine, database_url: str, test_servers: Any
) -> None:
    who: TenantKey = await make_tenant(engine, "waiter")
    with Folio(live.base_url, who.key) as folio:
        job_id = failed_job(folio, database_url, test_servers.redis_url, "wait-retried")
        folio.retry(job_id)
        worker = finish_later(database_url, test_servers.redis_url, job_id, "succeeded", 1.5)
        # When a client waits for the retried job
        job = await asyncio.to_thread(folio.wait_for_job, job_id, timeout_s=20, poll_s=0.2)
        worker.join()
    # Then it gets the new run's end, not the old one at once
    assert job.status == "succeeded"
