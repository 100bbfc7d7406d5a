"""``process`` requests arriving together are queued in batches
(:mod:`folio_api.domain.documents.batching`): each document still gets
exactly one job, one message and the answers each would get alone. Real
PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from apikit import TenantKey
from litestar.testing import AsyncTestClient
from live_server import LiveServer, serve
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from test_api_process import queued_messages, stored_document

from folio_api.domain.documents.batching import QueueBatcher, _Write
from folio_api.resources import STATE_KEY, Resources
from folio_shared import metrics
from folio_shared.db.models import Job, JobEvent
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
def _batcher(client: Client, kind: type[QueueBatcher], **options: int) -> Iterator[None]:
    """The API's batcher replaced by a ``kind`` one, for the block."""
    state = client.app.state
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

    # Then they went in fewer batches than requests
    batches_after, requests_after = _batch_stats()
    assert requests_after - requests_before == len(asked)
    assert batches_after - batches_before < len(asked)

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


class _TouchingBatcher(QueueBatcher):
    """Changes the first document of its first write after the batch read
    it, as a concurrent writer would."""

    touched = False

    async def _write(self, conn: asyncpg.Connection, writes: list[_Write]) -> None:
        if not self.touched:
            self.touched = True
            await conn.execute(
                "UPDATE documents SET updated_at = now() WHERE id = $1", writes[0].row.document.id
            )
        await super()._write(conn, writes)


async def test_a_document_changed_under_its_batch_is_read_again_and_queued_once(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    doc_id = await stored_document(client, alice, "batch-touched")
    with _batcher(client, _TouchingBatcher):
        r = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
    assert r.status_code == 202, r.text
    async with engine.connect() as conn:
        jobs = (
            await conn.execute(sa.select(Job.id).where(Job.document_id == uuid.UUID(doc_id)))
        ).all()
    # the batch's write found the row changed and wrote nothing; the
    # request read it again in a second batch and queued one job
    assert [str(j) for (j,) in jobs] == [r.json()["job"]["job_id"]]
    assert r.json()["job"]["status"] == "queued"
