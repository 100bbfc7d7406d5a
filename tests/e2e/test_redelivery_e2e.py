"""A document's last step delivered again leaves one set of chunks.

Dramatiq delivers at least once: a worker that dies after its work but
before its outcome is recorded has its message delivered again. The real
worker-docs and worker-ocr processes run here (as in
``test_pipeline_e2e.py``); the second delivery is made by hand, the job
row first put back as a dead worker leaves it (running, lease expired).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from documents import pdf, scanned_page
from e2ekit import (
    finished,
    job_done,
    root_job,
    submit,
)

from folio_shared.db.enums import DocumentKind
from folio_shared.db.models import Chunk, Document, Job
from folio_shared.jobs import events, outbox

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCANNED = [
    "Este comprovante confirma o pagamento da fatura",
    "referente ao mes de marco conforme a acao judicial",
]


async def test_a_finalize_delivered_twice_leaves_one_set_of_chunks(api: Any) -> None:
    jobs, engine = api.jobs, api.engine
    # Given a document with a page to OCR: its last step is docs.finalize
    data = pdf(["The moon pulls the oceans twice a day.", scanned_page(SCANNED)])
    document_id = await submit(api, DocumentKind.PDF, "application/pdf", data)
    assert await finished(engine, document_id) == "ready"
    async with engine.connect() as conn:
        job = await root_job(conn, document_id)
        before = (
            (await conn.execute(sa.select(Chunk.id).where(Chunk.document_id == document_id)))
            .scalars()
            .all()
        )
    # When the completion step is delivered again
    assert job.on_complete is not None
    outbox.resend(jobs.broker, job.id, job.on_complete, continuation=True)
    await asyncio.sleep(3)
    async with engine.connect() as conn:
        after = (
            (await conn.execute(sa.select(Chunk.id).where(Chunk.document_id == document_id)))
            .scalars()
            .all()
        )
        status = await conn.scalar(sa.select(Job.status).where(Job.id == job.id))
    # Then nothing changed: same chunks, one set, job still succeeded once
    assert sorted(after) == sorted(before)
    assert status == "succeeded"


async def test_a_text_document_takes_one_message_and_may_run_twice(api: Any) -> None:
    """No page to OCR: docs.process extracts, chunks, embeds and marks the
    document ready in the same run, with no completion step to send; run
    again (a worker that died before its outcome was recorded), it leaves
    one set of chunks and reuses their vectors."""
    jobs, engine = api.jobs, api.engine
    data = pdf(["Tide tables list the high and low water of every day of the year."])
    document_id = await submit(api, DocumentKind.PDF, "application/pdf", data)
    assert await finished(engine, document_id) == "ready"
    async with engine.connect() as conn:
        job = await job_done(engine, (await root_job(conn, document_id)).id)
        first = (
            await conn.execute(
                sa.select(Chunk.chunk_index, Chunk.text).where(Chunk.document_id == document_id)
            )
        ).all()
        page_count = await conn.scalar(
            sa.select(Document.page_count).where(Document.id == document_id)
        )
    assert job.status == "succeeded"
    assert job.on_complete is None  # one message: nothing handed over
    assert job.attempts == 1
    assert job.result["chunks"] == len(first) >= 1
    assert page_count == 1
    stages = [e.data.get("stage") for e in await events.read(jobs.redis, job.id)]
    assert stages.index("extracting") < stages.index("fields") < stages.index("indexing")

    # When its worker "died" before recording the outcome (the job running,
    # its lease expired) and its message is delivered again
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(Job)
            .where(Job.id == job.id)
            .values(status="running", lease_expires_at=sa.func.now() - sa.text("interval '1 s'"))
        )
    outbox.resend(jobs.broker, job.id, job.message, continuation=False)
    again = await job_done(engine, job.id)

    # Then it succeeds again with the same chunks, no vector computed
    assert again.status == "succeeded", again.error_message
    assert again.attempts == 2
    assert again.result["embedded"] == 0
    assert again.result["reused_vectors"] == len(first)
    async with engine.connect() as conn:
        second = (
            await conn.execute(
                sa.select(Chunk.chunk_index, Chunk.text).where(Chunk.document_id == document_id)
            )
        ).all()
    assert sorted(second) == sorted(first)
    assert await finished(engine, document_id) == "ready"
