"""Documents per second end to end with one worker-docs process.

Starts a private Redis and PostgreSQL (see :mod:`_servers`), local storage
in the same temp folder, and ONE real worker-docs (``folio_worker_docs.main``
under Folio's supervisor, ``-p 1 -t --threads``, by default the worker's
own thread count). Documents are submitted
the way the API does it: store the bytes, insert the document row, queue a
``ProcessDocumentV1`` through the outbox in the same transaction, dispatch
after the commit.

1. Warm-up: one 1-page document, timed from the worker's start to
   ``ready`` (worker boot, extraction pool start, embedding model load).
2. ``--one-page`` 1-page text PDFs, then ``--twenty-page`` 20-page text
   PDFs (generated with reportlab before timing, a few paragraphs of
   distinct text per page; text layer only, no OCR). Each batch is timed
   from its first submit to its last document ``ready`` (the documents
   table is polled every 50 ms).

Prints a Markdown table: kind, documents, pages, seconds, docs/s, pages/s,
chunks/s. Loopback only; every batch is bounded by ``--timeout-s``; the
worker and the servers are stopped at the end.

    .venv/bin/python bench/documents_throughput.py [--one-page 20] [--twenty-page 5]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
import sqlalchemy as sa
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).parent))
from _baseline import baseline
from _rss import PeakRss
from _servers import BenchServers
from _services import OtherServices

from folio_devstack.workers import WorkerProcess, worker_env
from folio_shared.broker import create_broker
from folio_shared.db.enums import DocumentKind, DocumentStatus
from folio_shared.db.models import Chunk, Document
from folio_shared.db.repositories.tenants import create_tenant
from folio_shared.jobs import Jobs, outbox
from folio_shared.messages import ProcessDocumentV1, Queue, physical_queue_names
from folio_shared.settings import FolioSettings
from folio_shared.storage import LocalStorage

#: Physical queues of a worker-docs (as in production).
DOCS_QUEUES = [
    name
    for q in (Queue.DOCUMENTS, Queue.DOCUMENTS_LARGE, Queue.QUERIES)
    for name in physical_queue_names(q)
]
FINAL = {DocumentStatus.READY.value, DocumentStatus.PARTIAL.value, DocumentStatus.FAILED.value}
POLL_S = 0.05

_VOCABULARY = """
invoice contract supplier quarterly report manager approved payment receipt
region schedule archive ledger balance audit shipment warehouse customer
policy renewal premium claim adjuster vendor budget forecast revenue margin
inventory freight carrier customs tariff clause amendment signature witness
tenant landlord lease deposit maintenance inspection permit zoning survey
engineer turbine pipeline reservoir sensor calibration firmware battery
module cluster replica latency throughput backlog release sprint incident
"""
WORDS = _VOCABULARY.split()


def paragraph(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        words = rng.choices(WORDS, k=rng.randint(9, 16))
        out.append(" ".join(words).capitalize() + f" {rng.randint(100, 99999)}.")
    return " ".join(out)


def wrap(text: str, width_chars: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width_chars:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


def make_pdf(pages: int, seed: str) -> bytes:
    """A text PDF of ``pages`` A4 pages, four paragraphs of distinct text each."""
    rng = random.Random(seed)
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    _, height = A4
    for page_no in range(1, pages + 1):
        text = pdf.beginText(60, height - 70)
        text.setFont("Helvetica", 10)
        text.textLine(f"Document {seed} - page {page_no}")
        for _ in range(4):
            text.textLine("")
            for line in wrap(paragraph(rng, 5), 95):
                text.textLine(line)
        pdf.drawText(text)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


@dataclass
class Client:
    """The submitting side: jobs, database, storage, one tenant."""

    jobs: Jobs
    engine: AsyncEngine
    storage: LocalStorage
    tenant_id: uuid.UUID
    key: str  # the tenant's API key
    submitted: list[uuid.UUID] = field(default_factory=list)


async def open_client(settings: FolioSettings, tenant_name: str) -> Client:
    """The submitting side, connected, with a new tenant."""
    engine = create_async_engine(settings.database.url)
    storage = LocalStorage.from_settings(settings)
    await storage.open()
    jobs = Jobs(engine, create_broker(settings), aioredis.Redis.from_url(settings.redis.url))
    async with jobs.sessions() as session:
        tenant, key = await create_tenant(session, tenant_name)
        await session.commit()
    return Client(jobs, engine, storage, tenant.id, key)


async def close_client(client: Client) -> None:
    await client.storage.close()
    await client.jobs.redis.aclose()
    client.jobs.broker.close()
    await client.engine.dispose()


def docs_worker(
    settings: FolioSettings, root: Path, threads: int, runtime: str = "auto"
) -> WorkerProcess:
    """One worker-docs process (``-p 1``) on the production queues, embedding
    chunks on ``runtime`` (``FOLIO_PIPELINE_DOCUMENT_RUNTIME``); logs under ``root``."""
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return WorkerProcess(
        ["folio_worker_docs.main", "-p", "1", "-t", str(threads), "--queues", *DOCS_QUEUES],
        worker_env(settings, FOLIO_PIPELINE_DOCUMENT_RUNTIME=runtime),
        logs / "docs-0.log",
    )


async def submit(client: Client, data: bytes) -> uuid.UUID:
    """Store the bytes and queue the document, as the API does."""
    document_id = uuid.uuid4()
    key = f"tenants/{client.tenant_id}/documents/{document_id}"
    await client.storage.put_bytes(key, data, content_type="application/pdf")
    async with client.engine.begin() as conn:
        await conn.execute(
            sa.insert(Document).values(
                id=document_id,
                tenant_id=client.tenant_id,
                filename="bench.pdf",
                kind=DocumentKind.PDF,
                content_type="application/pdf",
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                storage_key=key,
                status=DocumentStatus.QUEUED,
            )
        )
    msg = ProcessDocumentV1(
        job_id=str(uuid.uuid4()),
        tenant_id=str(client.tenant_id),
        document_id=str(document_id),
        storage_key=key,
        content_type="application/pdf",
    )
    async with client.jobs.sessions() as session:
        await outbox.enqueue(session, msg, tenant_id=client.tenant_id, document_id=document_id)
        await session.commit()
        ids = outbox.pending_ids(session)
    await client.jobs.dispatch(ids)
    client.submitted.append(document_id)
    return document_id


async def wait_final(
    engine: AsyncEngine, ids: list[uuid.UUID], worker: WorkerProcess, timeout_s: float
) -> None:
    """Poll until every document in ``ids`` is final; fail unless all ``ready``."""
    deadline = time.monotonic() + timeout_s
    while True:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(Document.id, Document.status).where(Document.id.in_(ids))
                )
            ).all()
        done = [r for r in rows if str(r.status) in FINAL]
        if len(done) == len(ids):
            bad = [(r.id, str(r.status)) for r in done if str(r.status) != "ready"]
            if bad:
                raise RuntimeError(f"documents not ready: {bad}")
            return
        if worker.proc.poll() is not None:
            raise RuntimeError(f"worker exited ({worker.proc.returncode}); see {worker.log.name}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(ids) - len(done)} documents unfinished after {timeout_s}s")
        await asyncio.sleep(POLL_S)


async def counts(engine: AsyncEngine, ids: list[uuid.UUID]) -> tuple[int, int]:
    """(pages, chunks) of the documents ``ids``."""
    async with engine.connect() as conn:
        pages = await conn.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Document.page_count), 0)).where(
                Document.id.in_(ids)
            )
        )
        chunks = await conn.scalar(
            sa.select(sa.func.count()).select_from(Chunk).where(Chunk.document_id.in_(ids))
        )
    return int(pages or 0), int(chunks or 0)


@dataclass
class Row:
    kind: str
    documents: int
    pages: int
    chunks: int
    seconds: float


async def batch(
    client: Client, kind: str, pdfs: list[bytes], worker: WorkerProcess, timeout_s: float
) -> Row:
    start = time.perf_counter()
    ids = [await submit(client, data) for data in pdfs]
    await wait_final(client.engine, ids, worker, timeout_s)
    seconds = time.perf_counter() - start
    pages, chunks = await counts(client.engine, ids)
    return Row(kind, len(ids), pages, chunks, seconds)


async def run(args: argparse.Namespace, settings: FolioSettings, root: Path) -> None:
    run_id = uuid.uuid4().hex[:8]
    print("generating PDFs ...", flush=True)
    warm = make_pdf(1, f"{run_id}-warm")
    one = [make_pdf(1, f"{run_id}-one-{i}") for i in range(args.one_page)]
    twenty = [make_pdf(20, f"{run_id}-twenty-{i}") for i in range(args.twenty_page)]

    client = await open_client(settings, f"bench-{run_id}")
    engine = client.engine
    threads = args.threads or settings.worker.threads
    print(f"worker-docs: 1 process, {threads} threads", flush=True)
    worker = docs_worker(settings, root, threads, args.document_runtime)
    others = OtherServices(settings, root, client.key) if args.all_services else None
    try:
        if others:
            others.__enter__()
        start = time.perf_counter()
        warm_id = await submit(client, warm)
        await wait_final(engine, [warm_id], worker, args.timeout_s)
        warm_s = time.perf_counter() - start
        print(f"warm-up (worker start + model load + 1 page): {warm_s:.2f} s", flush=True)

        rows = []
        if others:
            others.documents = client.submitted
            others.measure()
        with PeakRss(worker.proc.pid) as rss:
            if one:
                rows.append(await batch(client, "1-page PDF", one, worker, args.timeout_s))
            if twenty:
                rows.append(await batch(client, "20-page PDF", twenty, worker, args.timeout_s))
    finally:
        if others:
            gone = others.alive()
            others.__exit__(None, None, None)
        worker.close()
        await close_client(client)

    print()
    print("| kind | documents | pages | seconds | docs/s | pages/s | chunks/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.kind} | {r.documents} | {r.pages} | {r.seconds:.2f} | "
            f"{r.documents / r.seconds:.2f} | {r.pages / r.seconds:.2f} | "
            f"{r.chunks / r.seconds:.2f} |"
        )
    print(f"\nchunks: {', '.join(f'{r.kind} {r.chunks}' for r in rows)}")
    print(f"peak RSS worker-docs: {rss.peak_mib:.0f} MiB (all its processes)")
    print(f"peak RSS worker-docs-largest-process: {rss.largest_mib:.0f} MiB")
    if others:
        print(others.report() + (f"\nexited early: {', '.join(gone)}" if gone else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one-page", type=int, default=20, help="1-page documents (default 20)")
    parser.add_argument("--twenty-page", type=int, default=5, help="20-page documents (default 5)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="worker threads (default: the worker's own, FOLIO_WORKER_THREADS)",
    )
    parser.add_argument(
        "--baseline-threads",
        type=int,
        default=None,
        help="worker threads of the --baseline-ref run (default: that commit's benchmark's)",
    )
    parser.add_argument(
        "--document-runtime",
        choices=("auto", "bf16", "onnx", "int8", "torch"),
        default="auto",
        help="how the worker embeds chunks (default auto, the worker's default)",
    )
    parser.add_argument(
        "--timeout-s", type=float, default=900, help="bound of each batch (default 900)"
    )
    parser.add_argument(
        "--all-services",
        action="store_true",
        help="run the API (following the documents), worker-ocr and the scheduler beside"
        " worker-docs, and report the peak RSS of each service",
    )
    parser.add_argument(
        "--baseline-ref",
        default=None,
        help="also run this benchmark as it was at this git commit (its own sources, this"
        " venv) for one-page PDFs first: the same-run baseline of the end-to-end target",
    )
    args = parser.parse_args()
    if args.baseline_ref:
        rate = baseline(args.baseline_ref, args.one_page, args.baseline_threads)
        print(f"baseline 1-page PDF docs/s: {rate:.2f} (at {args.baseline_ref})")
    with BenchServers() as servers:
        asyncio.run(run(args, servers.folio_settings(), servers.root))


if __name__ == "__main__":
    main()
