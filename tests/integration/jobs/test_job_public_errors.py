"""A job's error as its tenant reads it, and as its operators do.

Real worker (the test actors in this process on Folio's middleware stack),
real Redis and PostgreSQL. An internal error's text (here, what a transient
failure said) stays in the job row and its history for operators; the
document and the job's live feed tell the tenant Folio's own sentence.
"""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import BrokenV1, EchoV1, new_id
from support.jobs import queued_document, wait_status
from support.workers import RunningWorker

from folio_shared.db.models import Document
from folio_shared.jobs import Jobs, events
from folio_shared.jobs.public_errors import INTERNAL

pytestmark = pytest.mark.integration


async def test_an_internal_error_reaches_the_tenant_as_folios_sentence(
    worker: RunningWorker, jobs: Jobs, engine: AsyncEngine, redis: aioredis.Redis, key: str
) -> None:
    # Given a document whose job dies of an internal error
    tenant_id, doc_id = await queued_document(engine)
    job_id = new_id()
    await jobs.enqueue(
        EchoV1(job_id=str(job_id), key=key, fail_times=1),
        tenant_id=tenant_id,
        document_id=doc_id,
        max_retries=0,
    )
    # When it is dead
    job = await wait_status(jobs, job_id, "dead")
    # Then the operator's job row keeps the full error
    assert job.error_type == "ConnectionError"
    assert job.error_message == "transient failure 1"
    # and the tenant's document and live feed show Folio's sentence
    async with engine.connect() as conn:
        error = await conn.scalar(sa.select(Document.error).where(Document.id == doc_id))
    assert error == f"ConnectionError: {INTERNAL}"
    feed = await redis.xrange(events.stream_key(str(job_id)))
    states = [json.loads(fields[b"data"]) for _, fields in feed if fields[b"type"] == b"state"]
    assert states[-1]["status"] == "dead"
    assert states[-1]["error"] == INTERNAL
    assert "transient failure" not in json.dumps(states)


async def test_a_job_failed_on_purpose_tells_the_tenant_why(
    worker: RunningWorker, jobs: Jobs, engine: AsyncEngine, key: str
) -> None:
    tenant_id, doc_id = await queued_document(engine)
    job_id = new_id()
    await jobs.enqueue(
        BrokenV1(job_id=str(job_id), key=key), tenant_id=tenant_id, document_id=doc_id
    )
    await wait_status(jobs, job_id, "failed")
    async with engine.connect() as conn:
        error = await conn.scalar(sa.select(Document.error).where(Document.id == doc_id))
    assert error == "UnsupportedFileType: this file type cannot be processed"
