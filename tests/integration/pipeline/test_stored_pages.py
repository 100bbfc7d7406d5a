"""The pages ``docs.process`` has just stored go to the document's last step
as they are: no transaction reads them back.

Runs the extraction stage and the last step in this process, on real
PostgreSQL and Redis, the real extraction child and the real embedding
model, inside a job context as a worker's actor has one (the job has no
row: its progress writes find none)."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pipeline_helpers import make_document, make_tenant
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared import resources as worker_resources
from folio_shared.db.engine import create_session_factory
from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Chunk, Document, Page
from folio_shared.jobs.context import JobContext, reset_current, set_current
from folio_shared.messages import ProcessDocumentV1
from folio_shared.pages import finished_pages, load_pages
from folio_shared.resources import Resources
from folio_shared.settings import DatabaseSettings, FolioSettings, RedisSettings, StorageSettings
from folio_worker_docs import finishing
from folio_worker_docs.extracting import close_pools, extract_pdf
from folio_worker_docs.text import TEXT_VERSION

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TEXT = [
    "Tide tables list the high and low water of every day of the year.",
    "The harbour master posts them at the quay before each season.",
]


def _pdf(lines: list[str]) -> bytes:
    buf = io.BytesIO()
    doc = canvas.Canvas(buf, pagesize=A4)
    y = A4[1] - 72
    for line in lines:
        doc.drawString(72, y, line)
        y -= 16
    doc.showPage()
    doc.save()
    return buf.getvalue()


@pytest.fixture
async def worker(
    database_url: str, test_servers: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Resources]:
    """A worker process's resources, open in this process, and its extraction pool."""
    settings = FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=test_servers.redis_url),
        storage=StorageSettings(local_root=tmp_path / "store"),
    )
    res = await Resources.open(settings)
    monkeypatch.setattr(worker_resources, "_current", res)
    try:
        yield res
    finally:
        close_pools()
        await res.close()


async def _document(engine: AsyncEngine) -> tuple[uuid.UUID, uuid.UUID]:
    async with create_session_factory(engine)() as session:
        tenant_id = await make_tenant(session)
        document_id = await make_document(session, tenant_id, "tides.pdf", kind="pdf")
        await session.commit()
    return tenant_id, document_id


def _message(tenant_id: uuid.UUID, document_id: uuid.UUID) -> ProcessDocumentV1:
    return ProcessDocumentV1(
        job_id=str(uuid.uuid4()),
        tenant_id=str(tenant_id),
        document_id=str(document_id),
        storage_key="unused",
        content_type="application/pdf",
    )


async def test_stored_pages_come_back_only_when_the_run_stored_them_all(
    worker: Resources, engine: AsyncEngine, tmp_path: Path
) -> None:
    # Given a one-page text PDF never processed before
    tenant_id, document_id = await _document(engine)
    path = tmp_path / "tides.pdf"
    path.write_bytes(_pdf(TEXT))
    msg = _message(tenant_id, document_id)
    token = set_current(JobContext(uuid.UUID(msg.job_id), 1, tenant_id, document_id, None, False))
    try:
        # When its text layer is extracted
        first = await extract_pdf(msg, document_id, str(path), {})
        async with worker.sessions() as session:
            stored = await load_pages(session, document_id)
            done = await finished_pages(session, document_id, text_version=TEXT_VERSION)
        # and extracted again with the first run's pages as checkpoints
        again = await extract_pdf(msg, document_id, str(path), done)
    finally:
        reset_current(token)

    # Then the first run gives the pages exactly as stored, the second none
    assert (first.page_count, first.to_ocr) == (1, [])
    assert first.pages is not None
    assert [(p.page_no, p.text, p.low_confidence) for p in first.pages] == [
        (p.page_no, p.text, p.low_confidence) for p in stored
    ]
    assert "Tide tables" in first.pages[0].text
    assert (again.page_count, again.to_ocr, again.pages) == (1, [], None)


async def test_the_last_step_indexes_the_pages_it_is_given(
    worker: Resources, engine: AsyncEngine, tmp_path: Path
) -> None:
    # Given a PDF's pages just extracted and stored
    tenant_id, document_id = await _document(engine)
    path = tmp_path / "tides.pdf"
    path.write_bytes(_pdf(TEXT))
    msg = _message(tenant_id, document_id)
    token = set_current(JobContext(uuid.UUID(msg.job_id), 1, tenant_id, document_id, None, False))
    try:
        extracted = await extract_pdf(msg, document_id, str(path), {})
        assert extracted.pages is not None
        # whose rows are gone by the time the last step runs: it cannot read them
        async with worker.sessions() as session:
            await session.execute(sa.delete(Page).where(Page.document_id == document_id))
            await session.commit()
        # When the last step runs with the pages
        known = finishing.Known(page_count=1, chunks=False, pages=extracted.pages)
        result = await finishing.finish(tenant_id, document_id, known)
    finally:
        reset_current(token)

    # Then the document is ready and its chunks hold those pages' text
    assert result["status"] == "ready"
    assert result["pages"] == 1
    async with engine.connect() as conn:
        status = await conn.scalar(sa.select(Document.status).where(Document.id == document_id))
        texts = (
            await conn.execute(sa.select(Chunk.text).where(Chunk.document_id == document_id))
        ).scalars()
        joined = " ".join(texts)
    assert status == DocumentStatus.READY
    assert "Tide tables list the high and low water" in joined
    assert "harbour master" in joined
