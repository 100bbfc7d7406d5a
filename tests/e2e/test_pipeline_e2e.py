"""From stored bytes to searchable text, through the real workers.

worker-docs and worker-ocr run as real supervised processes (their own
entry modules, Folio's full middleware stack, the real embedding model and
Tesseract) against the test Redis and PostgreSQL, with local storage. Each
document is stored and queued the way the API does it (document row, job
and message through the outbox), then followed in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from documents import docx, pdf, scanned_page
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from folio_devstack.workers import WorkerProcess, worker_env
from folio_shared.broker import create_broker
from folio_shared.db.enums import DocumentKind, DocumentStatus
from folio_shared.db.models import Chunk, Document, Job, Page, Tenant
from folio_shared.jobs import Jobs
from folio_shared.messages import ProcessDocumentV1, Queue, physical_queue_names
from folio_shared.queries import embed_query
from folio_shared.search import search
from folio_shared.settings import (
    BrokerSettings,
    DatabaseSettings,
    FolioSettings,
    JobSettings,
    RedisSettings,
    StorageSettings,
)
from folio_shared.storage import LocalStorage

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOCS_QUEUES = [
    name
    for q in (Queue.DOCUMENTS, Queue.DOCUMENTS_LARGE, Queue.EMBEDDINGS, Queue.QUERIES)
    for name in physical_queue_names(q)
]
OCR_QUEUES = list(physical_queue_names(Queue.OCR))

SCANNED = [
    "Este comprovante confirma o pagamento da fatura",
    "referente ao mes de marco conforme a acao judicial",
]


@pytest.fixture(scope="module")
def settings(database_url: str, test_servers: Any, tmp_path_factory: Any) -> FolioSettings:
    root = tmp_path_factory.mktemp("e2e")
    return FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=test_servers.redis_url),
        broker=BrokerSettings(namespace=f"e2e{uuid.uuid4().hex[:8]}"),
        storage=StorageSettings(local_root=root / "store"),
        jobs=JobSettings(reconcile_interval_ms=1_000, lost_after_ms=5_000, lease_ms=10_000),
    )


@pytest.fixture(scope="module")
def workers(settings: FolioSettings, tmp_path_factory: Any) -> Iterator[None]:
    logs = tmp_path_factory.mktemp("logs")
    env = worker_env(settings)
    started = [
        WorkerProcess(
            [
                "folio_worker_docs.main",
                "--processes",
                "1",
                "--threads",
                "2",
                "--queues",
                *DOCS_QUEUES,
            ],
            env,
            logs / "worker-docs.log",
        ),
        WorkerProcess(
            [
                "folio_worker_ocr.main",
                "--processes",
                "1",
                "--threads",
                "2",
                "--queues",
                *OCR_QUEUES,
            ],
            env,
            logs / "worker-ocr.log",
        ),
    ]
    yield
    for worker in started:
        worker.terminate(timeout_s=30)
        worker.close()


@pytest.fixture(scope="module")
async def api(
    database_url: str, settings: FolioSettings, workers: None
) -> AsyncIterator[tuple[Jobs, AsyncEngine, LocalStorage, uuid.UUID]]:
    engine = create_async_engine(database_url)
    broker = create_broker(settings)
    client = aioredis.Redis.from_url(settings.redis.url)
    storage = LocalStorage.from_settings(settings)
    await storage.open()
    async with engine.begin() as conn:
        tenant_id = uuid.uuid4()
        await conn.execute(sa.insert(Tenant).values(id=tenant_id, name=f"e2e-{tenant_id.hex[:6]}"))
    yield Jobs(engine, broker, client), engine, storage, tenant_id
    await storage.close()
    await client.aclose()
    broker.close()
    await engine.dispose()


async def submit(
    api: tuple[Jobs, AsyncEngine, LocalStorage, uuid.UUID],
    kind: DocumentKind,
    content_type: str,
    data: bytes,
    *,
    force_ocr: bool = False,
) -> uuid.UUID:
    """Store the bytes and queue the document, as the API does."""
    jobs, engine, storage, tenant_id = api
    document_id = uuid.uuid4()
    key = f"tenants/{tenant_id}/documents/{document_id}"
    await storage.put_bytes(key, data, content_type=content_type)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(Document).values(
                id=document_id,
                tenant_id=tenant_id,
                filename=f"test.{kind.value}",
                kind=kind,
                content_type=content_type,
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                storage_key=key,
                status=DocumentStatus.QUEUED,
            )
        )
    msg = ProcessDocumentV1(
        job_id=str(uuid.uuid4()),
        tenant_id=str(tenant_id),
        document_id=str(document_id),
        storage_key=key,
        content_type=content_type,
        force_ocr=force_ocr,
    )
    await jobs.enqueue(msg, tenant_id=tenant_id, document_id=document_id)
    return document_id


async def finished(engine: AsyncEngine, document_id: uuid.UUID, timeout_s: float = 300) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with engine.connect() as conn:
            status = await conn.scalar(sa.select(Document.status).where(Document.id == document_id))
        if status in ("ready", "partial", "failed"):
            return str(status)
        await asyncio.sleep(0.25)
    raise AssertionError(f"document {document_id} still {status} after {timeout_s}s")


async def pages_of(engine: AsyncEngine, document_id: uuid.UUID) -> list[tuple[int, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(Page.page_no, Page.method, Page.text)
            .where(Page.document_id == document_id)
            .order_by(Page.page_no)
        )
        return [(n, str(m), t) for n, m, t in rows]


async def test_every_kind_goes_from_bytes_to_searchable_text(api: Any) -> None:
    _, engine, _, tenant_id = api
    # Given one document of each kind, a mixed PDF (text, scan, text) among them
    mixed = await submit(
        api,
        DocumentKind.PDF,
        "application/pdf",
        pdf(
            [
                "Quarterly revenue grew in the northern region.",
                scanned_page(SCANNED),
                "Closing remarks about volcanoes and lava flows.",
            ]
        ),
    )
    text_pdf = await submit(
        api,
        DocumentKind.PDF,
        "application/pdf",
        pdf(["The lighthouse keeper logged every passing ship.", "Storms battered the coast."]),
    )
    markdown = await submit(
        api,
        DocumentKind.MARKDOWN,
        "text/markdown",
        b"# Sourdough\n\nFeed the starter with flour and water every day.\n",
    )
    html = await submit(
        api,
        DocumentKind.HTML,
        "text/html",
        b"<html><head><style>p{color:red}</style><script>var secret=1;</script></head>"
        b"<body><h1>Beekeeping</h1><p>Hives need a queen and worker bees.</p></body></html>",
    )
    word = await submit(
        api,
        DocumentKind.DOCX,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        docx(
            ["Orbital mechanics explains how satellites stay aloft."],
            [["planet", "moons"], ["Jupiter", "95"]],
        ),
    )
    corrupt = await submit(api, DocumentKind.PDF, "application/pdf", b"%PDF-1.7\n garbage \x00\x01")

    # Then each becomes ready with the right text per page
    for document_id in (mixed, text_pdf, markdown, html, word):
        assert await finished(engine, document_id) == "ready", document_id
    pages = await pages_of(engine, mixed)
    assert [(n, m) for n, m, _ in pages] == [(1, "text"), (2, "ocr"), (3, "text")]
    assert "revenue" in pages[0][2]
    assert "comprovante" in pages[1][2].lower()
    assert "pagamento" in pages[1][2].lower()
    assert "volcanoes" in pages[2][2]
    assert [(n, m) for n, m, _ in await pages_of(engine, text_pdf)] == [(1, "text"), (2, "text")]
    html_text = (await pages_of(engine, html))[0][2]
    assert "Hives need a queen" in html_text
    assert "secret" not in html_text
    assert "color" not in html_text
    word_text = (await pages_of(engine, word))[0][2]
    assert "Orbital mechanics" in word_text
    assert "Jupiter" in word_text

    # and the corrupt one fails with a readable reason, without stopping the rest
    assert await finished(engine, corrupt) == "failed"
    async with engine.connect() as conn:
        job = (
            await conn.execute(
                sa.select(Job).where(Job.document_id == corrupt, Job.parent_id.is_(None))
            )
        ).one()
        error = await conn.scalar(sa.select(Document.error).where(Document.id == corrupt))
    assert job.status == "failed"
    assert error
    assert "pdf" in error.lower() or "corrupt" in error.lower()

    # Every ready document has embedded chunks, and the job finished once
    async with engine.connect() as conn:
        for document_id in (mixed, text_pdf, markdown, html, word):
            count = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(Chunk)
                .where(Chunk.document_id == document_id, Chunk.embedding.is_not(None))
            )
            assert count
        statuses = (
            (
                await conn.execute(
                    sa.select(Job.status).where(Job.document_id == mixed, Job.parent_id.is_(None))
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["succeeded"]

    # And a query phrased differently finds the right document, through the queries actor
    jobs = api[0]
    vector = await asyncio.to_thread(
        embed_query,
        jobs.broker,
        "how do I keep bread yeast culture alive",
        tenant_id=str(tenant_id),
        timeout_ms=60_000,
    )
    async with jobs.sessions() as session:
        hits = await search(
            session,
            tenant_id=tenant_id,
            query_vector=vector,
            query_text="how do I keep bread yeast culture alive",
            k=3,
            mode="semantic",
        )
    assert hits
    assert hits[0].document_id == markdown


async def test_a_scanned_pdf_is_ocred_page_by_page_in_order(api: Any) -> None:
    _, engine, _, _ = api
    pages = [
        scanned_page([f"Page {n} describes the harbour", "and its fishing boats"])
        for n in range(1, 5)
    ]
    document_id = await submit(api, DocumentKind.PDF, "application/pdf", pdf(list(pages)))
    assert await finished(engine, document_id) == "ready"
    stored = await pages_of(engine, document_id)
    assert [(n, m) for n, m, _ in stored] == [(n, "ocr") for n in range(1, 5)]
    for n, _, text in stored:
        assert f"Page {n}" in text
