"""``process`` requests arriving together are queued in batches
(:mod:`folio_api.domain.documents.fast.batching`): each document still gets
exactly one job, one message and the answers each would get alone. Real
PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from apikit import TenantKey
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.live_server import LiveServer, serve
from test_api_process import queued_messages, stored_document

from folio_api.domain.documents.fast.batching import QueueBatcher
from folio_api.resources import STATE_KEY, Resources
from folio_shared import metrics
from folio_shared.db.models import Document, Job, JobEvent
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


@pytest.fixture(scope="module")
def live(settings: FolioSettings) -> Iterator[LiveServer]:
    """The API served by uvicorn: requests really arrive together (the
    in-process test client hands them to the app one at a time)."""
    with serve(lambda _: settings) as server:
        yield server


@contextlib.contextmanager
def _batcher(app: Any, kind: type[QueueBatcher], **options: float) -> Iterator[None]:
    """The batcher of ``app`` (started) replaced by a ``kind`` one, for the block."""
    state = app.state
    resources: Resources = state[STATE_KEY]
    assert resources.pg is not None
    assert resources.sender is not None
    state[STATE_KEY] = dataclasses.replace(
        resources, batcher=kind(resources.pg, resources.sender, **options)
    )
    try:
        yield
    finally:
        state[STATE_KEY] = resources


def _batch_stats() -> tuple[float, float]:
    """(batches, requests) observed so far by this process."""
    values = {
        s.name: s.value
        for family in metrics.API_QUEUE_BATCH_SIZE.collect()
        for s in family.samples
        if s.name.endswith(("_count", "_sum"))
    }
    return values["folio_api_queue_batch_size_count"], values["folio_api_queue_batch_size_sum"]


async def test_requests_arriving_together_share_batches_and_each_document_one_job(
    client: Client,
    live: LiveServer,
    alice: TenantKey,
    bob: TenantKey,
    engine: AsyncEngine,
    redis: Redis,
    settings: FolioSettings,
) -> None:
    # Given 30 stored documents, 2 already queued, and 2 of another tenant
    fresh = [await stored_document(client, alice, f"batch-{i}") for i in range(30)]
    active = [await stored_document(client, alice, f"batch-active-{i}") for i in range(2)]
    earlier = {}
    for doc_id in active:
        r = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
        earlier[doc_id] = r.json()["job"]["job_id"]
    foreign = [await stored_document(client, bob, f"batch-bob-{i}") for i in range(2)]
    batches_before, requests_before = _batch_stats()

    # When all are asked at once over HTTP, the first fresh document three times
    asked = [*fresh, fresh[0], fresh[0], *active, *foreign]
    limits = httpx.Limits(max_connections=len(asked))
    async with httpx.AsyncClient(base_url=live.base_url, limits=limits, timeout=30) as http:
        responses = await asyncio.gather(
            *[http.post(f"/v1/documents/{d}/process", headers=alice.headers) for d in asked]
        )

    # Then they went in fewer batches than requests (the counts are the
    # process's: a request of another app in this process may add to them)
    batches_after, requests_after = _batch_stats()
    requests = requests_after - requests_before
    assert requests >= len(asked)
    assert batches_after - batches_before < requests

    # and every request got the answer it would get alone
    by_doc: dict[str, set[str]] = {}
    for doc_id, r in zip(asked, responses, strict=True):
        if doc_id in foreign:
            assert r.status_code == 404
            assert r.json()["code"] == "document_not_found"
            continue
        assert r.status_code == 202, r.text
        assert r.json()["document"]["id"] == doc_id
        by_doc.setdefault(doc_id, set()).add(r.json()["job"]["job_id"])
    assert all(len(jobs) == 1 for jobs in by_doc.values())  # the repeats share one job
    for doc_id in active:
        assert by_doc[doc_id] == {earlier[doc_id]}

    # one job per document in the database, written as one at a time would be
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(Job.id, Job.document_id, Job.status, Job.sent_at).where(
                    Job.document_id.in_([uuid.UUID(d) for d in [*fresh, *active, *foreign]])
                )
            )
        ).all()
        events = (
            await conn.execute(sa.select(JobEvent.job_id, JobEvent.status).order_by(JobEvent.id))
        ).all()
    jobs_of: dict[str, list[str]] = {}
    for job_id, document_id, status, sent_at in rows:
        assert status == "queued"
        assert sent_at is not None
        jobs_of.setdefault(str(document_id), []).append(str(job_id))
    assert {d: set(j) for d, j in jobs_of.items()} == by_doc
    new_jobs = {next(iter(by_doc[d])) for d in fresh}
    statuses: dict[str, list[str]] = {}
    for job_id, status in events:
        if str(job_id) in new_jobs:
            statuses.setdefault(str(job_id), []).append(status)
    assert statuses == {j: ["pending", "queued"] for j in new_jobs}

    # and each new job's message is in Redis once
    sent = await queued_messages(redis, settings.broker.namespace, "documents")
    sent_jobs = [m["options"]["job_id"] for m in sent.values()]
    assert sorted(j for j in sent_jobs if j in new_jobs) == sorted(new_jobs)


async def test_a_document_queued_by_another_writer_meanwhile_answers_that_job(
    client: Client, live: LiveServer, alice: TenantKey, engine: AsyncEngine
) -> None:
    # Given a document whose row another transaction holds while it queues
    # a job of its own (a racing request of another API process)
    doc_id = await stored_document(client, alice, "batch-raced")
    other_id = uuid.uuid4()
    async with engine.connect() as conn:
        await conn.execute(
            sa.select(Document.id).where(Document.id == uuid.UUID(doc_id)).with_for_update()
        )
        await conn.execute(
            sa.insert(Job).values(
                id=other_id,
                tenant_id=alice.tenant_id,
                document_id=uuid.UUID(doc_id),
                actor_name="docs.process",
                queue_name="documents",
                status="queued",
                message={},
            )
        )
        # When a process request arrives meanwhile (over HTTP: the test
        # client would run it to its end before anything else): it waits
        async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
            request = asyncio.create_task(
                http.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
            )
            await asyncio.sleep(0.5)
            assert not request.done()
            await conn.commit()
            r = await asyncio.wait_for(request, 10)
    # Then its insert found the other job (the unique index), it asked again
    # and answered that job; the document has that one job only
    assert r.status_code == 202, r.text
    assert r.json()["job"]["job_id"] == str(other_id)
    async with engine.connect() as conn:
        jobs = (
            await conn.execute(sa.select(Job.id).where(Job.document_id == uuid.UUID(doc_id)))
        ).all()
    assert [j for (j,) in jobs] == [other_id]


async def test_the_database_refuses_a_second_active_job_of_a_document(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    doc_id = await stored_document(client, alice, "batch-unique")
    r = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
    assert r.status_code == 202, r.text
    with pytest.raises(sa.exc.IntegrityError, match="uq_jobs_active_top_level"):
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(Job).values(
                    tenant_id=alice.tenant_id,
                    document_id=uuid.UUID(doc_id),
                    actor_name="docs.process",
                    queue_name="documents",
                    status="pending",
                    message={},
                )
            )


async def _lock_waits(engine: AsyncEngine) -> int:
    """Sessions of this database waiting for a lock."""
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
    return int(waiting or 0)


async def _stalled_then_other(
    client: Client, base_url: str, alice: TenantKey, engine: AsyncEngine, *, wait_s: float
) -> float:
    """Seconds a request for document B took while the batch of a request
    for document A waited for A's row (held by another transaction);
    infinite if B was not answered within ``wait_s``."""
    a_id = await stored_document(client, alice, f"stall-a-{uuid.uuid4().hex[:6]}")
    b_id = await stored_document(client, alice, f"stall-b-{uuid.uuid4().hex[:6]}")
    async with (
        engine.connect() as conn,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        await conn.execute(
            sa.select(Document.id).where(Document.id == uuid.UUID(a_id)).with_for_update()
        )
        stalled = asyncio.create_task(
            http.post(f"/v1/documents/{a_id}/process", headers=alice.headers)
        )
        # B is sent once A's batch waits for the lock (sent sooner, on a slow
        # machine, it could join A's batch and wait with it)
        deadline = asyncio.get_running_loop().time() + 30
        while not await _lock_waits(engine):
            assert asyncio.get_running_loop().time() < deadline, "A never waited for its row"
            await asyncio.sleep(0.02)
        started = asyncio.get_running_loop().time()
        other = asyncio.create_task(
            http.post(f"/v1/documents/{b_id}/process", headers=alice.headers)
        )
        done, _ = await asyncio.wait({other}, timeout=wait_s)
        took = asyncio.get_running_loop().time() - started
        await conn.commit()
        assert (await asyncio.wait_for(stalled, 10)).status_code == 202
        assert (await asyncio.wait_for(other, 10)).status_code == 202
    return took if done else float("inf")


async def test_a_stalled_batch_does_not_hold_up_the_next_requests(
    client: Client, alice: TenantKey, engine: AsyncEngine, settings: FolioSettings
) -> None:
    # Given a batch waiting for a row lock, a request for another document
    # is answered at once (a second batch starts beside the stalled one)
    with serve(lambda _: settings) as server:
        # (while A's row is still locked: without a second batch B would wait
        # for the lock for good; a bound of 1 s measured the machine's load)
        took = await _stalled_then_other(client, server.base_url, alice, engine, wait_s=10)
        assert took < 10
        # while batches that may never overlap make it wait for the lock
        with _batcher(server.server.config.app, QueueBatcher, overlap_after_ms=60_000):
            took = await _stalled_then_other(client, server.base_url, alice, engine, wait_s=1.5)
        assert took == float("inf")
