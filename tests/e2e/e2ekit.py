"""Helpers of the end-to-end tests: settings, real workers, submitting and
following documents the way the API does."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from folio_devstack.workers import WorkerProcess, worker_env
from folio_shared.broker import create_broker
from folio_shared.db.enums import DocumentKind, DocumentStatus
from folio_shared.db.models import Document, Job, Page, Tenant
from folio_shared.jobs import Jobs, outbox
from folio_shared.messages import ProcessDocumentV1, Queue, physical_queue_names
from folio_shared.settings import (
    BrokerSettings,
    DatabaseSettings,
    FolioSettings,
    JobSettings,
    PipelineSettings,
    RedisSettings,
    StorageSettings,
)
from folio_shared.storage import LocalStorage

DOCS_QUEUES = [
    name
    for q in (Queue.DOCUMENTS, Queue.DOCUMENTS_LARGE, Queue.EMBEDDINGS, Queue.QUERIES)
    for name in physical_queue_names(q)
]
OCR_QUEUES = list(physical_queue_names(Queue.OCR))


def e2e_settings(
    database_url: str, redis_url: str, root: Path, *, large_pages: int = 100
) -> FolioSettings:
    return FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=redis_url),
        broker=BrokerSettings(namespace=f"e2e{uuid.uuid4().hex[:8]}"),
        storage=StorageSettings(local_root=root / "store"),
        jobs=JobSettings(reconcile_interval_ms=1_000, lost_after_ms=5_000, lease_ms=10_000),
        pipeline=PipelineSettings(large_document_pages=large_pages),
    )


def start_worker(
    settings: FolioSettings, kind: str, logs: Path, *, threads: int = 2, **env: str
) -> WorkerProcess:
    """A real worker-docs (``kind="docs"``) or worker-ocr (``"ocr"``),
    supervised as in production, logging to ``logs``."""
    if kind == "docs":
        module, queues = "folio_worker_docs.main", DOCS_QUEUES
    else:
        module, queues = "folio_worker_ocr.main", OCR_QUEUES
    n = len(list(logs.glob(f"{kind}-*.log")))
    return WorkerProcess(
        [module, "-p", "1", "-t", str(threads), "--queues", *queues],
        worker_env(settings, **env),
        logs / f"{kind}-{n}.log",
    )


#: What the tests use as "the API": jobs, database, storage, and a tenant.
Api = tuple[Jobs, AsyncEngine, LocalStorage, uuid.UUID]


async def open_api(database_url: str, settings: FolioSettings) -> AsyncIterator[Api]:
    """Open the API side's clients and create a tenant (an async generator)."""
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
    api: Api,
    kind: DocumentKind,
    content_type: str,
    data: bytes,
    *,
    force_ocr: bool = False,
    ocr_dpi: int | None = None,
    queue: Queue | None = None,
    expected: dict[str, str] | None = None,
) -> uuid.UUID:
    """Store the bytes and queue the document, as the API does."""
    _, engine, storage, tenant_id = api
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
    await queue_job(
        api,
        document_id,
        key,
        content_type,
        force_ocr=force_ocr,
        ocr_dpi=ocr_dpi,
        queue=queue,
        expected=expected,
    )
    return document_id


async def queue_job(
    api: Api,
    document_id: uuid.UUID,
    key: str,
    content_type: str,
    *,
    force_ocr: bool = False,
    ocr_dpi: int | None = None,
    queue: Queue | None = None,
    expected: dict[str, str] | None = None,
) -> uuid.UUID:
    """Queue a stored document's processing through the outbox; the job id."""
    jobs, _, _, tenant_id = api
    job_id = uuid.uuid4()
    msg = ProcessDocumentV1(
        job_id=str(job_id),
        tenant_id=str(tenant_id),
        document_id=str(document_id),
        storage_key=key,
        content_type=content_type,
        force_ocr=force_ocr,
        ocr_dpi=ocr_dpi,
        expected=expected,
    )
    async with jobs.sessions() as session:
        await outbox.enqueue(
            session, msg, tenant_id=tenant_id, document_id=document_id, queue=queue
        )
        await session.commit()
        ids = outbox.pending_ids(session)
    await jobs.dispatch(ids)
    return job_id


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


async def requeue(api: Api, document_id: uuid.UUID) -> uuid.UUID:
    """Queue a stored document's processing again (as ``POST .../process``
    does); returns the new job's id."""
    _, engine, _, _ = api
    async with engine.begin() as conn:
        doc = (await conn.execute(sa.select(Document).where(Document.id == document_id))).one()
        await conn.execute(
            sa.update(Document)
            .where(Document.id == document_id)
            .values(status=DocumentStatus.QUEUED)
        )
    return await queue_job(
        api, document_id, doc.storage_key, doc.content_type or "application/octet-stream"
    )


async def job_done(engine: AsyncEngine, job_id: uuid.UUID, timeout_s: float = 120) -> Job:
    """The job once it finished (any final status)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with engine.connect() as conn:
            job = (await conn.execute(sa.select(Job).where(Job.id == job_id))).one_or_none()
        if job is not None and job.status in ("succeeded", "failed", "dead", "cancelled"):
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.25)
    raise AssertionError(f"job {job_id} not finished after {timeout_s}s")
