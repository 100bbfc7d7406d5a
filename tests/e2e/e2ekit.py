"""Helpers of the end-to-end tests: settings, real workers, the real API
served on a loopback port, uploading documents through it and following
them in PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from support.live_server import serve
from support.workers import start_process

from folio_devstack.workers import WorkerProcess
from folio_shared.broker import create_broker
from folio_shared.db.enums import DocumentKind, DocumentStatus
from folio_shared.db.models import Document, Job, Page
from folio_shared.db.repositories.tenants import create_tenant
from folio_shared.jobs import Jobs, outbox
from folio_shared.messages import ProcessDocumentV1, Queue, physical_queue_names
from folio_shared.settings import (
    ApiSettings,
    BrokerSettings,
    DatabaseSettings,
    FolioSettings,
    JobSettings,
    PipelineSettings,
    RedisSettings,
    StorageSettings,
)

DOCS_QUEUES = [
    name
    for q in (Queue.DOCUMENTS, Queue.DOCUMENTS_LARGE, Queue.QUERIES, Queue.WEBHOOKS)
    for name in physical_queue_names(q)
]
OCR_QUEUES = list(physical_queue_names(Queue.OCR))


def e2e_settings(
    database_url: str,
    redis_url: str,
    root: Path,
    *,
    large_pages: int = 100,
    large_bytes: int = 20 * 1024 * 1024,
) -> FolioSettings:
    """Settings of an end-to-end module: a namespace of its own, local
    storage under ``root``; documents of ``large_pages`` pages or
    ``large_bytes`` bytes go to the large-documents queues."""
    return FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=redis_url),
        broker=BrokerSettings(namespace=f"e2e{uuid.uuid4().hex[:8]}"),
        storage=StorageSettings(local_root=root / "store"),
        jobs=JobSettings(reconcile_interval_ms=1_000, lost_after_ms=5_000, lease_ms=10_000),
        pipeline=PipelineSettings(
            large_document_pages=large_pages, large_document_bytes=large_bytes
        ),
        api=ApiSettings(rate_limit_per_minute=100_000),
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
    log = logs / f"{kind}-{n}.log"
    return start_process(settings, log, module=module, queues=queues, threads=threads, **env)


@contextlib.contextmanager
def running_workers(
    settings: FolioSettings, logs: Path, kinds: tuple[str, ...] = ("docs", "ocr")
) -> Iterator[None]:
    """Real workers of ``kinds`` (default worker-docs and worker-ocr) for
    the block, stopped after it."""
    started = [start_worker(settings, kind, logs) for kind in kinds]
    try:
        yield
    finally:
        for worker in started:
            worker.terminate(timeout_s=30)
            worker.close()


@dataclass(frozen=True)
class Api:
    """The real API served on a loopback port, a tenant's key, and the job
    engine and database the tests follow documents in."""

    client: httpx.AsyncClient  # HTTP client of the served API
    tenant_id: uuid.UUID
    key: str
    jobs: Jobs
    engine: AsyncEngine

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def as_tenant(self, tenant_id: uuid.UUID, key: str) -> Api:
        """The same API, called with another tenant's key."""
        return replace(self, tenant_id=tenant_id, key=key)


async def new_tenant(jobs: Jobs, label: str) -> tuple[uuid.UUID, str]:
    """A tenant and its API key."""
    async with jobs.sessions() as session:
        tenant, key = await create_tenant(session, f"{label}-{uuid.uuid4().hex[:6]}")
        await session.commit()
    return tenant.id, key


async def open_api(database_url: str, settings: FolioSettings) -> AsyncIterator[Api]:
    """Serve the API (``create_app(settings)`` under uvicorn on a free
    loopback port) and create a tenant (an async generator)."""
    engine = create_async_engine(database_url)
    broker = create_broker(settings)
    redis = aioredis.Redis.from_url(settings.redis.url)
    jobs = Jobs(engine, broker, redis)
    tenant_id, key = await new_tenant(jobs, "e2e")
    with serve(lambda _: settings) as live:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=120) as client:
            yield Api(client, tenant_id, key, jobs, engine)
    await redis.aclose()
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
    expected: dict[str, str] | None = None,
) -> uuid.UUID:
    """Upload the bytes through ``POST /v1/documents`` (multipart) and
    queue their processing; the new document's id.

    ``force_ocr``, ``expected``: uploaded with ``?process=false``, then
    queued by ``POST /v1/documents/{id}/process`` with them. ``ocr_dpi``,
    which the HTTP API does not offer, is put on the processing message
    queued through the job engine for the uploaded document.
    """
    options: dict[str, Any] = {}
    if force_ocr:
        options["force_ocr"] = True
    if expected is not None:
        options["expected"] = expected
    process_now = not options and ocr_dpi is None
    answer = await api.client.post(
        "/v1/documents",
        params={"process": "true" if process_now else "false"},
        headers=api.headers,
        files={"file": (f"test.{kind.value}", data, content_type)},
    )
    assert answer.status_code == 201, answer.text
    document_id = uuid.UUID(answer.json()["document"]["id"])
    if ocr_dpi is not None:
        await queue_job(api, document_id, ocr_dpi=ocr_dpi, **options)
    elif options:
        await process(api, document_id, **options)
    return document_id


async def process(api: Api, document_id: uuid.UUID, **options: Any) -> uuid.UUID:
    """``POST /v1/documents/{id}/process`` with ``options``; the job's id."""
    answer = await api.client.post(
        f"/v1/documents/{document_id}/process", json=options, headers=api.headers
    )
    assert answer.status_code == 202, answer.text
    return uuid.UUID(answer.json()["job"]["job_id"])


async def queue_job(
    api: Api,
    document_id: uuid.UUID,
    *,
    force_ocr: bool = False,
    ocr_dpi: int | None = None,
    expected: dict[str, str] | None = None,
) -> uuid.UUID:
    """Queue a stored document's processing through the outbox with options
    the HTTP API does not offer; the job id."""
    async with api.engine.begin() as conn:
        doc = (await conn.execute(sa.select(Document).where(Document.id == document_id))).one()
        await conn.execute(
            sa.update(Document)
            .where(Document.id == document_id)
            .values(status=DocumentStatus.QUEUED)
        )
    job_id = uuid.uuid4()
    msg = ProcessDocumentV1(
        job_id=str(job_id),
        tenant_id=str(api.tenant_id),
        document_id=str(document_id),
        storage_key=doc.storage_key,
        content_type=doc.content_type or "application/octet-stream",
        force_ocr=force_ocr,
        ocr_dpi=ocr_dpi,
        expected=expected,
    )
    async with api.jobs.sessions() as session:
        await outbox.enqueue(session, msg, tenant_id=api.tenant_id, document_id=document_id)
        await session.commit()
        ids = outbox.pending_ids(session)
    await api.jobs.dispatch(ids)
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
    """Queue a stored document's processing again (``POST .../process``);
    returns the new job's id. Waits first for the document's job to end:
    a document is ``ready`` a moment before its job's outcome is recorded,
    and a request meanwhile answers that job instead of queueing a new one."""
    async with api.engine.connect() as conn:
        current = await conn.scalar(
            sa.select(Job.id)
            .where(Job.document_id == document_id, Job.parent_id.is_(None))
            .order_by(Job.created_at.desc())
            .limit(1)
        )
    if current is not None:
        await job_done(api.engine, current)
    return await process(api, document_id)


async def root_job(conn: AsyncConnection, document_id: uuid.UUID) -> Any:
    """The document's one job without a parent (its processing request)."""
    return (
        await conn.execute(
            sa.select(Job).where(Job.document_id == document_id, Job.parent_id.is_(None))
        )
    ).one()


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
