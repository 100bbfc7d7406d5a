"""The document pipeline: download, extract, fan out OCR, chunk, embed, index.

``process`` runs as the document's job: it extracts the text layer in an
isolated child process, stores the pages that have text, and hands the
pages that need OCR to ``ocr.page`` child jobs; the job then waits for them.
``finalize`` is the completion step of that same job, run exactly once when
the last page is done: it classifies the document and extracts its
structured fields (stage ``fields``; stored with the extractor's version,
and re-run on every finalize, so a newer extractor re-extracts from the
stored pages without re-OCR), chunks the pages, embeds the chunks, and replaces
the document's chunks in one transaction (search never sees a half-replaced
document), then marks the document ``ready`` — or ``partial`` when some
pages failed OCR (they are listed in the document's metadata) — or
``failed`` when no page has text.

Finished pages are checkpoints: a retried or reprocessed document keeps the
pages this pipeline version already produced and OCRs only what is missing.
Vectors are reused the same way: a chunk whose text the current model
already embedded for this document keeps its vector, so reprocessing with
an unchanged model embeds nothing, and a new model version re-embeds all.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import dramatiq
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared import metrics
from folio_shared.db.enums import DocumentStatus, PageMethod
from folio_shared.db.models import Document
from folio_shared.document_files import checked_file
from folio_shared.errors import DocumentNotFound, InvalidInput
from folio_shared.isolation import IsolatedPool
from folio_shared.jobs import WAITING, add_children, current_job, outbox, progress
from folio_shared.jobs.family import child_job_id
from folio_shared.language import detect_language
from folio_shared.logging import get_logger
from folio_shared.messages import (
    FinalizeDocumentV1,
    OcrPageV1,
    Priority,
    ProcessDocumentV1,
    Queue,
)
from folio_shared.pages import (
    PIPELINE_VERSION,
    PageText,
    drop_pages_after,
    finished_pages,
    load_pages,
    upsert_pages,
)
from folio_shared.resources import resources
from folio_shared.storage.files import download
from folio_worker_docs.chunks_store import replace_document_chunks, reusable_vectors
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import load_embedder
from folio_worker_docs.extraction import extract as extract_fields
from folio_worker_docs.extraction.privacy import masked_fields
from folio_worker_docs.failed_pages import describe_failed, failed_pages
from folio_worker_docs.fields_store import page_texts, save_expected, save_fields
from folio_worker_docs.limits import check_page_count
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages
from folio_worker_docs.text.extract import IMAGE_KINDS, extract_document
from folio_worker_docs.text.pdf import extract_pdf_pages, pdf_page_count
from folio_worker_docs.text.types import Extraction

log = get_logger(__name__)

#: Texts embedded per call (progress is reported between calls).
EMBED_SLICE = 256
#: PDF pages read per call of the extraction child; each batch is stored
#: before the next is read (a checkpoint).
EXTRACT_BATCH_PAGES = 25


class DocumentUnreadable(InvalidInput):
    """No page of the document yielded any text."""

    code = "document_unreadable"


@functools.cache
def _extraction_pool() -> IsolatedPool:
    settings = resources().settings
    return IsolatedPool(
        1,
        memory_limit_bytes=2 * 1024**3,
        cpu_time_limit_s=settings.jobs.document_time_limit_ms / 1000,
        wall_time_limit_s=settings.jobs.document_time_limit_ms / 1000,
        max_tasks_per_child=50,
    )


@functools.cache
def embedder() -> Embedder:
    """The process's embedding model (``FOLIO_PIPELINE_EMBEDDING_MODEL``),
    loaded on first use (all-MiniLM-L6-v2 with the ONNX query encoder
    unless ``FOLIO_PIPELINE_QUERY_RUNTIME=torch``, chunks as
    ``FOLIO_PIPELINE_DOCUMENT_RUNTIME`` says)."""
    settings = resources().settings.pipeline
    model = load_embedder(settings.embedding_model, threads=settings.query_threads)
    if settings.query_runtime == "onnx":
        model.use_onnx_for_queries(
            cache_dir=settings.model_cache_dir, threads=settings.query_threads
        )
    if settings.document_runtime == "bf16":
        model.use_bf16_for_documents()
    elif settings.document_runtime == "onnx":
        model.use_onnx_for_documents(
            cache_dir=settings.model_cache_dir, threads=settings.query_threads
        )
    return model


def warm_up() -> None:
    """Load the embedding model and embed one query (worker start-up)."""
    started = time.monotonic()
    model = embedder()
    model.encode_query("warm up")
    log.info(
        "embedding model ready",
        model_version=model.model_version,
        onnx_queries=model.query_encoder is not None,
        onnx_documents=model.document_encoder is not None,
        bf16_documents=model.bf16,
        seconds=round(time.monotonic() - started, 1),
    )


def close_pools() -> None:
    """Stop the child processes (worker shutdown)."""
    if _extraction_pool.cache_info().currsize:
        _extraction_pool().close()


async def _document(
    session: AsyncSession, document_id: uuid.UUID, tenant_id: uuid.UUID
) -> Document:
    doc = await session.get(Document, document_id, populate_existing=True)
    if doc is None or doc.tenant_id != tenant_id or doc.status == DocumentStatus.DELETED:
        raise DocumentNotFound(f"no document {document_id}", document_id=str(document_id))
    return doc


async def _extract_whole(
    msg: ProcessDocumentV1, document_id: uuid.UUID, kind: str, path: str
) -> tuple[int, list[int]]:
    """Extract a non-PDF document in one call; store its text pages.
    Returns the page count and the pages left to OCR."""
    res = resources()
    extraction: Extraction = await _extraction_pool().run_async(extract_document, kind, path)
    check_page_count(res.settings.pipeline, msg.tenant_id, extraction.page_count)
    async with res.sessions() as session:
        done = await finished_pages(session, document_id)
        text_pages = [
            PageText(page_no=p.page_no, text=p.text, method=PageMethod.TEXT)
            for p in extraction.pages
            if not p.needs_ocr and not msg.force_ocr and p.page_no not in done
        ]
        if kind not in IMAGE_KINDS:
            metrics.PAGES_EXTRACTED.labels(kind).inc(len(extraction.pages))
        await upsert_pages(session, document_id, text_pages)
        await drop_pages_after(session, document_id, extraction.page_count)
        await session.commit()
    wanted = [p.page_no for p in extraction.pages] if msg.force_ocr else extraction.ocr_pages
    to_ocr = [n for n in wanted if done.get(n) != PageMethod.OCR or msg.force_ocr]
    _count_reused(done, to_ocr)
    return extraction.page_count, to_ocr


async def _extract_pdf(
    msg: ProcessDocumentV1, document_id: uuid.UUID, path: str
) -> tuple[int, list[int]]:
    """Read a PDF's text layer in batches of :data:`EXTRACT_BATCH_PAGES`,
    each batch's text pages stored (a checkpoint) before the next is read.
    Pages this pipeline version already stored are not read again, so a
    document whose worker died half-way resumes where it stopped. Returns
    the page count and the pages left to OCR."""
    res = resources()
    pool = _extraction_pool()
    page_count = await pool.run_async(pdf_page_count, path)
    check_page_count(res.settings.pipeline, msg.tenant_id, page_count)
    async with res.sessions() as session:
        await drop_pages_after(session, document_id, page_count)
        await session.commit()
        done = await finished_pages(session, document_id)
    if msg.force_ocr:
        to_ocr = list(range(1, page_count + 1))
        _count_reused(done, to_ocr)
        return page_count, to_ocr
    to_ocr = []
    for first in range(1, page_count + 1, EXTRACT_BATCH_PAGES):
        last = min(page_count, first + EXTRACT_BATCH_PAGES - 1)
        wanted = [n for n in range(first, last + 1) if n not in done]
        if wanted:
            pages = await pool.run_async(extract_pdf_pages, path, wanted)
            metrics.PAGES_EXTRACTED.labels("pdf").inc(len(pages))
            async with res.sessions() as session:
                await upsert_pages(
                    session,
                    document_id,
                    [
                        PageText(page_no=p.page_no, text=p.text, method=PageMethod.TEXT)
                        for p in pages
                        if not p.needs_ocr
                    ],
                )
                await session.commit()
            to_ocr.extend(p.page_no for p in pages if p.needs_ocr)
        await progress("extracting", done=last, total=page_count)
    _count_reused(done, to_ocr)
    return page_count, to_ocr


def _count_reused(done: dict[int, PageMethod], to_ocr: list[int]) -> None:
    redo = set(to_ocr)
    for page_no, method in done.items():
        if page_no not in redo:
            metrics.PAGES_REUSED.labels(str(method)).inc()


async def process(msg: ProcessDocumentV1) -> object:
    """Extract the text layer and fan out the pages that need OCR."""
    ctx = current_job()
    res = resources()
    tenant_id, document_id = uuid.UUID(msg.tenant_id), uuid.UUID(msg.document_id)
    async with res.sessions() as session:
        doc = await _document(session, document_id, tenant_id)
        expected = checked_file(doc, msg.storage_key)
        doc.status = DocumentStatus.PROCESSING
        kind = str(doc.kind or "")
        if msg.expected is not None:
            await save_expected(
                session, tenant_id=tenant_id, document_id=document_id, expected=msg.expected
            )
        await session.commit()

    await progress("downloading")
    with tempfile.TemporaryDirectory(prefix="folio-doc-") as tmp:
        path = await download(
            res.storage, msg.storage_key, Path(tmp) / "document", expected=expected
        )
        await progress("extracting")
        if kind == "pdf":
            page_count, to_ocr = await _extract_pdf(msg, document_id, str(path))
        else:
            page_count, to_ocr = await _extract_whole(msg, document_id, kind, str(path))

    async with res.sessions() as session:
        doc = await _document(session, document_id, tenant_id)
        doc.page_count = page_count
        large = page_count >= res.settings.pipeline.large_document_pages
        # A large document's OCR pages and final step yield to small ones:
        # its pages go at low priority (unless the client asked for high or
        # critical), its final step to the large-documents queue.
        fan_priority = msg.priority
        if large and Priority(msg.priority).rank >= Priority.NORMAL.rank:
            fan_priority = Priority.LOW
        children = [
            OcrPageV1(
                job_id=str(child_job_id(ctx.job_id, n)),
                parent_job_id=msg.job_id,
                tenant_id=msg.tenant_id,
                document_id=msg.document_id,
                storage_key=msg.storage_key,
                content_type=msg.content_type,
                page_no=n,
                page_count=page_count,
                priority=fan_priority,
                dpi=msg.ocr_dpi,
                languages=msg.ocr_languages,
                rotation=msg.ocr_rotate,
            )
            for n in to_ocr
        ]
        await add_children(
            session,
            ctx.job_id,
            children,
            then=FinalizeDocumentV1(
                job_id=msg.job_id,
                tenant_id=msg.tenant_id,
                document_id=msg.document_id,
                page_count=page_count,
                priority=fan_priority,
                embedding_model=msg.embedding_model,
            ),
            tenant_id=tenant_id,
            document_id=document_id,
            priority=fan_priority,
            then_queue=Queue.DOCUMENTS_LARGE if large else None,
        )
        await session.commit()
        ids = outbox.pending_ids(session)
    async with res.engine.connect() as conn:
        await outbox.dispatch(conn, dramatiq.get_broker(), ids)
    await progress("ocr" if children else "chunking", done=0, total=len(children))
    return WAITING


async def finalize(msg: FinalizeDocumentV1) -> dict[str, Any]:
    """Extract fields, chunk, embed and index the document; decide its final status."""
    ctx = current_job()
    res = resources()
    tenant_id, document_id = uuid.UUID(msg.tenant_id), uuid.UUID(msg.document_id)
    await progress("fields")
    model = await asyncio.to_thread(embedder)
    async with res.sessions() as session:
        pages = await load_pages(session, document_id)
        failed = await failed_pages(session, ctx.job_id)
        # vectors this model already made for the same chunk texts
        reusable = await reusable_vectors(
            session, document_id=document_id, model_version=model.model_version
        )
    fields = await asyncio.to_thread(extract_fields, page_texts(pages))
    await progress("chunking")
    chunks = chunk_pages(pages, model.token_spans, ChunkingOptions())
    language = detect_language("\n".join(p.text for p in pages))
    vectors: list[Any] = [reusable.get(c.text.replace("\x00", "")) for c in chunks]
    missing = [i for i, v in enumerate(vectors) if v is None]
    if not missing:
        await progress("embedding", done=0, total=0)
    for start in range(0, len(missing), EMBED_SLICE):
        await progress("embedding", done=start, total=len(missing))
        part = missing[start : start + EMBED_SLICE]
        encoded = await asyncio.to_thread(model.encode, [chunks[i].text for i in part])
        for i, vector in zip(part, encoded, strict=True):
            vectors[i] = vector
    await progress("indexing", done=len(chunks), total=len(chunks))
    low_confidence = sorted(p.page_no for p in pages if p.low_confidence)
    has_text = any(p.text.strip() for p in pages)
    async with res.sessions() as session, session.begin():
        written = await replace_document_chunks(
            session,
            tenant_id=tenant_id,
            document_id=document_id,
            chunks=chunks,
            vectors=vectors,
            model_version=model.model_version,
            pipeline_version=PIPELINE_VERSION,
            language=language,
        )
        verdicts = await save_fields(
            session, tenant_id=tenant_id, document_id=document_id, result=fields
        )
        doc = await _document(session, document_id, tenant_id)
        doc.low_confidence_pages = low_confidence
        doc.meta = {**(doc.meta or {}), "failed_pages": sorted(failed), "language": language}
        unreadable = "no text could be read from any page" + (
            f" ({describe_failed(failed)})" if failed else ""
        )
        if not has_text:
            doc.status = DocumentStatus.FAILED
            doc.error = unreadable
        elif failed:
            doc.status = DocumentStatus.PARTIAL
            doc.error = describe_failed(failed)
        else:
            doc.status = DocumentStatus.READY
            doc.error = None
    if not has_text:
        # the pages' causes (an image too large, ...) are the job's reason too
        raise DocumentUnreadable(unreadable, document_id=str(document_id))
    log.info(
        "document fields extracted",
        document_type=fields.document_type,
        extractor_version=fields.extractor_version,
        fields=masked_fields(fields),
        verdicts=verdicts,
    )
    return {
        "pages": len(pages),
        "document_type": fields.document_type,
        "fields": sorted(fields.fields),
        "chunks": written,
        "embedded": len(missing),
        "reused_vectors": written - len(missing),
        "failed_pages": sorted(failed),
        "low_confidence_pages": low_confidence,
        "status": "partial" if failed else "ready",
    }
