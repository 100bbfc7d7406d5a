"""Job event streams (SSE) are bounded: open streams per key and per API
process, one Redis reader per process whatever the number of streams, a
bounded Redis pool, and a maximum duration after which the client resumes
with ``Last-Event-ID``. The API is served on a loopback port, so streams
are really open at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from apikit import TenantKey, make_tenant, pdf_bytes
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.jobs import finish_as_worker
from support.live_server import LiveServer, serve

from folio_api.domain.jobs.hub import StreamHub, TooManyStreams
from folio_shared.jobs import events
from folio_shared.settings import ApiSettings, FolioSettings

pytestmark = pytest.mark.integration


def limited(settings: FolioSettings, **api: Any) -> FolioSettings:
    options: dict[str, Any] = {
        "rate_limit_per_minute": 100_000,
        "auth_failures_per_minute": 100_000,
        **api,
    }
    return settings.model_copy(update={"api": ApiSettings(**options)})


@contextlib.contextmanager
def served(settings: FolioSettings) -> Iterator[LiveServer]:
    with serve(lambda _: settings, sse_heartbeat_s=0.5, relay_interval_s=0.5) as live:
        yield live


async def new_job(client: httpx.AsyncClient, who: TenantKey) -> str:
    r = await client.post(
        "/v1/documents",
        headers=who.headers,
        files={"file": ("j.pdf", pdf_bytes(f"job {time.monotonic_ns()}"), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["job"]["job_id"])


@contextlib.asynccontextmanager
async def opened(
    client: httpx.AsyncClient, job_id: str, who: TenantKey, **headers: str
) -> AsyncIterator[httpx.Response]:
    """An event stream, open (its status and headers read) for the block."""
    request = client.build_request(
        "GET", f"/v1/jobs/{job_id}/events", headers={**who.headers, **headers}
    )
    response = await client.send(request, stream=True)
    try:
        yield response
    finally:
        await response.aclose()


async def events_until_end(response: httpx.Response) -> list[dict[str, str]]:
    """The events (not comments) of a stream, read until the server ends it."""
    received: list[dict[str, str]] = []
    item: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if "event" in item:
                received.append(item)
            item = {}
            continue
        field, _, value = line.partition(":")
        if field:
            item[field] = value.removeprefix(" ")
    return received


async def xread_clients(redis: Redis) -> int:
    """Redis clients blocked in (or last running) ``XREAD``."""
    clients: Any = await redis.client_list()
    return sum(1 for c in clients if c.get("cmd") == "xread")


async def test_streams_past_the_key_and_process_caps_get_429_with_retry_after(
    settings: FolioSettings, engine: AsyncEngine
) -> None:
    # Given an API allowing 2 open streams per key and 3 per process
    alice, bob = await make_tenant(engine, "alice"), await make_tenant(engine, "bob")
    capped = limited(settings, sse_streams_per_key=2, sse_streams_per_process=3)
    with served(capped) as live:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=10) as client:
            a_job, b_job = await new_job(client, alice), await new_job(client, bob)
            async with contextlib.AsyncExitStack() as stack:
                first = await stack.enter_async_context(opened(client, a_job, alice))
                await stack.enter_async_context(opened(client, a_job, alice))
                # When alice opens a third: her key's cap
                async with opened(client, a_job, alice) as third:
                    assert third.status_code == 429
                    assert third.headers["Retry-After"] == "5"
                    body = json.loads(await third.aread())
                    assert body["code"] == "too_many_streams"
                # bob still gets one, the process's third
                async with opened(client, b_job, bob) as bobs:
                    assert (first.status_code, bobs.status_code) == (200, 200)
                    # and then the process is full, for bob too
                    async with opened(client, b_job, bob) as more:
                        assert more.status_code == 429
                # Once one of alice's streams is closed, she may open one again
                await first.aclose()
                await asyncio.sleep(0.2)
                async with opened(client, a_job, alice) as again:
                    assert again.status_code == 200


async def test_many_streams_share_one_redis_reader_and_a_bounded_pool(
    settings: FolioSettings, engine: AsyncEngine, redis: Redis, database_url: str
) -> None:
    # Given an API whose Redis pool holds at most 4 connections
    alice = await make_tenant(engine, "alice")
    small_pool = limited(settings, sse_streams_per_key=100, redis_max_connections=4)
    with served(small_pool) as live:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
            jobs = [await new_job(client, alice) for _ in range(30)]
            before = int((await redis.info("clients"))["connected_clients"])
            async with contextlib.AsyncExitStack() as stack:
                # When 30 clients follow 30 jobs at once
                streams = [
                    await stack.enter_async_context(opened(client, job_id, alice))
                    for job_id in jobs
                ]
                assert {s.status_code for s in streams} == {200}
                readers = [asyncio.create_task(events_until_end(s)) for s in streams]
                await asyncio.sleep(1.5)
                # Then one connection waits on Redis for all of them, and the
                # process holds no more than its pool and that reader
                assert await xread_clients(redis) == 1
                during = int((await redis.info("clients"))["connected_clients"])
                assert during - before <= 4 + 1
                # And each stream still gets its job's end
                for job_id in jobs:
                    await finish_as_worker(database_url, redis, job_id, "succeeded")
                ends = await asyncio.wait_for(asyncio.gather(*readers), timeout=20)
            for received in ends:
                assert received[0]["event"] == "snapshot"
                assert json.loads(received[-1]["data"]) == {"status": "succeeded"}


async def test_a_stream_ends_after_its_maximum_duration_and_resumes_from_last_event_id(
    settings: FolioSettings, engine: AsyncEngine, redis: Redis, database_url: str
) -> None:
    # Given an API whose streams last at most 1.5 s, and a job with one event
    alice = await make_tenant(engine, "alice")
    short = limited(settings, sse_max_duration_s=1.5)
    with served(short) as live:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
            job_id = await new_job(client, alice)
            progress = await events.publish(
                redis, job_id, "progress", {"stage": "ocr", "done": 1, "total": 2}
            )
            # When a client follows it
            started = time.monotonic()
            async with opened(client, job_id, alice) as stream:
                first = await asyncio.wait_for(events_until_end(stream), timeout=10)
            # Then the server ends the stream after about 1.5 s, with no end event
            assert 1.4 <= time.monotonic() - started < 8
            assert [e["event"] for e in first] == ["snapshot", "progress"]
            assert first[-1]["id"] == progress
            # And the client reconnecting with Last-Event-ID gets what followed
            done = await finish_as_worker(database_url, redis, job_id, "succeeded")
            async with opened(client, job_id, alice, **{"Last-Event-ID": progress}) as stream:
                rest = await asyncio.wait_for(events_until_end(stream), timeout=10)
            assert [(e["event"], e["id"]) for e in rest] == [("state", done)]


async def test_the_key_cap_holds_across_api_processes(
    settings: FolioSettings, engine: AsyncEngine
) -> None:
    # Given two API instances (two replicas) on the same Redis, 2 streams per key
    alice = await make_tenant(engine, "alice")
    capped = limited(settings, sse_streams_per_key=2)
    with served(capped) as one, served(capped) as two:
        async with (
            httpx.AsyncClient(base_url=one.base_url, timeout=10) as first,
            httpx.AsyncClient(base_url=two.base_url, timeout=10) as second,
        ):
            job = await new_job(first, alice)
            async with opened(first, job, alice) as a, opened(second, job, alice) as b:
                assert (a.status_code, b.status_code) == (200, 200)
                # When alice opens a third stream, on either replica
                for client in (second, first):
                    async with opened(client, job, alice) as third:
                        # Then it is refused: the key's cap counts both replicas
                        assert third.status_code == 429
                        assert json.loads(await third.aread())["code"] == "too_many_streams"
            # Once her streams are closed, she may open them again
            await asyncio.sleep(0.3)
            async with opened(second, job, alice) as c, opened(second, job, alice) as d:
                assert (c.status_code, d.status_code) == (200, 200)


async def test_a_dead_processs_stream_slots_come_back_when_their_lease_ends(
    settings: FolioSettings,
) -> None:
    # Given three API processes' hubs, one stream per key, leases of 2 s
    def hub() -> StreamHub:
        return StreamHub(
            Redis.from_url(settings.redis.url),
            per_key=1,
            per_process=10,
            namespace=settings.broker.namespace,
            lease_ms=2_000,
            block_ms=100,
        )

    living, dying = hub(), hub()
    other = hub()
    try:
        # A live stream keeps its slot past many leases (its process renews it)
        await living.admit("job-live", key_id="key-a", after=None)
        await asyncio.sleep(5)
        with pytest.raises(TooManyStreams):
            await other.admit("job-live", key_id="key-a", after=None)
        # When a process dies holding a stream (no release, no renewal)
        await dying.admit("job-dead", key_id="key-b", after=None)
        await dying.close()
        with pytest.raises(TooManyStreams):
            await other.admit("job-dead", key_id="key-b", after=None)
        # Then its slot is free again once the lease has ended
        await asyncio.sleep(2.5)
        await other.admit("job-dead", key_id="key-b", after=None)
    finally:
        await living.close()
        await other.close()
