"""``POST /v1/documents/{id}/process`` while the document's job is in its
last moment: its actor has written the document ``ready`` and the worker
has not yet recorded the job's end. The request must not answer that job
(it would end having done nothing of the request): it waits for the end
and queues a new job."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from test_api_process import stored_document

from folio_api.domain.documents import ingest
from folio_shared.db.models import Document, Job

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


async def finishing_job(client: Client, who: TenantKey, engine: AsyncEngine, tag: str) -> str:
    """A processed document whose job still runs: the state between the
    actor's last write and the job's outcome. The job's id."""
    doc_id = await stored_document(client, who, tag)
    r = await client.post(f"/v1/documents/{doc_id}/process", headers=who.headers)
    assert r.status_code == 202, r.text
    job_id = str(r.json()["job"]["job_id"])
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(Job)
            .where(Job.id == uuid.UUID(job_id))
            .values(status="running", started_at=sa.func.now(), attempts=1)
        )
        await conn.execute(
            sa.update(Document).where(Document.id == uuid.UUID(doc_id)).values(status="ready")
        )
    return job_id


def end_later(engine: AsyncEngine, job_id: str, after_s: float) -> threading.Thread:
    """Record the job's end after ``after_s``, from a thread of its own (the
    test client serves a request on another thread while the test's event
    loop waits for it)."""
    url = engine.url.render_as_string(hide_password=False)

    async def end() -> None:
        await asyncio.sleep(after_s)
        other = create_async_engine(url)
        async with other.begin() as conn:
            await conn.execute(
                sa.update(Job)
                .where(Job.id == uuid.UUID(job_id))
                .values(status="succeeded", finished_at=sa.func.now())
            )
        await other.dispose()

    thread = threading.Thread(target=asyncio.run, args=(end(),))
    thread.start()
    return thread


async def test_a_process_request_waits_for_a_finishing_job_and_queues_a_new_one(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    old = await finishing_job(client, alice, engine, "finishing-ends")
    doc_id = str((await client.get(f"/v1/jobs/{old}", headers=alice.headers)).json()["document_id"])
    ending = end_later(engine, old, after_s=0.3)
    r = await client.post(
        f"/v1/documents/{doc_id}/process", headers=alice.headers, json={"force_ocr": True}
    )
    ending.join()
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["job"]["job_id"] != old
    assert body["job"]["status"] == "queued"
    assert body["document"]["status"] == "queued"
    async with engine.connect() as conn:
        job = (await conn.execute(sa.select(Job).where(Job.id == body["job"]["job_id"]))).one()
    assert job.message["payload"]["force_ocr"] is True


async def test_a_job_that_never_records_its_end_is_answered_after_the_bounded_wait(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    old = await finishing_job(client, alice, engine, "finishing-stuck")
    doc_id = str((await client.get(f"/v1/jobs/{old}", headers=alice.headers)).json()["document_id"])
    started = time.monotonic()
    r = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
    waited = time.monotonic() - started
    assert r.status_code in (200, 202), r.text
    assert r.json()["job"]["job_id"] == old
    assert waited >= ingest.FINISHING_WAIT_S


async def test_a_running_job_of_a_document_still_processing_is_answered_at_once(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    old = await finishing_job(client, alice, engine, "finishing-running")
    doc_id = str((await client.get(f"/v1/jobs/{old}", headers=alice.headers)).json()["document_id"])
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(Document).where(Document.id == uuid.UUID(doc_id)).values(status="processing")
        )
    started = time.monotonic()
    r = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
    assert r.json()["job"]["job_id"] == old
    assert time.monotonic() - started < ingest.FINISHING_WAIT_S
