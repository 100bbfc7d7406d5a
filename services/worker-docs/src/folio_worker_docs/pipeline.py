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
import weakref
from pathlib import Path
from typing import Any

import dramatiq
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared import embedding_models
from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document
from folio_shared.document_files import checked_file
from folio_shared.errors import DocumentNotFound, InvalidInput
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
    load_pages,
)
from folio_shared.resources import resources
from folio_shared.storage.files import download
from folio_worker_docs.chunks_store import replace_document_chunks, reusable_vectors
from folio_worker_docs.embeddings.batcher import EmbeddingBatcher
from folio_worker_docs.embeddings.model import Embedder, EmbeddingModelUnavailable
from folio_worker_docs.embeddings.select import Models, load_embedder, prepare_threads
from folio_worker_docs.extracting import extract_pdf, extract_whole
from folio_worker_docs.extraction import extract as extract_fields
from folio_worker_docs.extraction.privacy import masked_fields
from folio_worker_docs.failed_pages import describe_failed, failed_pages
from folio_worker_docs.fields_store import page_texts, save_expected, save_fields
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages, model_text

log = get_logger(__name__)

#: Texts embedded per call (progress is reported between calls).
EMBED_SLICE = 256


class DocumentUnreadable(InvalidInput):
    """No page of the document yielded any text."""

    code = "document_unreadable"


@functools.cache
def embedder(name: str | None = None) -> Embedder:
    """The embedding model ``name`` (default: the deployment's first,
    :func:`folio_shared.embedding_models.models_of`), loaded on first use
    in this process (all-MiniLM-L6-v2 with the ONNX query encoder unless
    ``FOLIO_PIPELINE_QUERY_RUNTIME=torch``, chunks as
    ``FOLIO_PIPELINE_DOCUMENT_RUNTIME`` says). Any model Folio knows
    (:data:`folio_shared.embedding_models.MODELS`), not only the
    deployment's: while a tenant's chunks are re-embedded after a model
    change, its queries are embedded by the model its chunks still use. An
    unknown name raises :class:`EmbeddingModelUnavailable`."""
    settings = resources().settings.pipeline
    models = embedding_models.models_of(settings.embedding_model)
    if name is not None and name not in embedding_models.MODELS:
        raise EmbeddingModelUnavailable(
            f"unknown embedding model {name!r}", model=name, models=list(embedding_models.MODELS)
        )
    prepare_threads(name or settings.embedding_model)
    model = load_embedder(name or models[0], threads=settings.query_threads)
    if settings.query_runtime == "onnx":
        model.use_onnx_for_queries(
            cache_dir=settings.model_cache_dir, threads=settings.query_threads
        )
    if settings.document_runtime == "bf16":
        model.use_fast_documents(cache_dir=settings.model_cache_dir, threads=settings.query_threads)
    elif settings.document_runtime == "int8":
        model.use_int8(cache_dir=settings.model_cache_dir, threads=settings.query_threads)
    elif settings.document_runtime == "onnx":
        model.use_onnx_for_documents(
            cache_dir=settings.model_cache_dir, threads=settings.query_threads
        )
    return model


def deployment_embedders() -> Models:
    """The deployment's models as :func:`embedder` loads them, by language
    (what re-embedding compares each chunk with)."""
    setting = resources().settings.pipeline.embedding_model
    by_language = {}
    if setting == embedding_models.BY_LANGUAGE:
        by_language = dict(embedding_models.LANGUAGE_MODELS)
    return Models(
        embedder(embedding_models.model_for(setting, None)),
        {lang: embedder(name) for lang, name in by_language.items()},
    )


def embedder_for(language: str | None) -> Embedder:
    """The model that embeds a document in ``language`` (``None``:
    unknown) in this deployment."""
    setting = resources().settings.pipeline.embedding_model
    return embedder(embedding_models.model_for(setting, language))


#: One batcher per event loop and model (the worker has one loop; tests may make several).
_BATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, EmbeddingBatcher]] = (
    weakref.WeakKeyDictionary()
)


def chunk_batcher(model: Embedder) -> EmbeddingBatcher:
    """The running loop's batcher of ``model``'s chunk embedding: documents
    finalised at the same time share model calls
    (:mod:`folio_worker_docs.embeddings.batcher`)."""
    batchers = _BATCHERS.setdefault(asyncio.get_running_loop(), {})
    batcher = batchers.get(model.model_version)
    if batcher is None or batcher.encode != model.encode:
        batcher = batchers[model.model_version] = EmbeddingBatcher(model.encode)
    return batcher


def warm_up() -> None:
    """Load the deployment's first embedding model and embed one query
    with it (worker start-up). Under ``by-language`` multilingual-e5-small
    is loaded when a Portuguese document or query first needs it
    (:func:`embedder`), so a worker that sees only English never holds it."""
    for name in embedding_models.models_of(resources().settings.pipeline.embedding_model)[:1]:
        started = time.monotonic()
        model = embedder(name)
        model.encode_query("warm up")
        log.info(
            "embedding model ready",
            model_version=model.model_version,
            onnx_queries=model.query_encoder is not None,
            onnx_documents=model.document_encoder is not None,
            bf16_documents=model.bf16,
            seconds=round(time.monotonic() - started, 1),
        )


async def _document(
    session: AsyncSession, document_id: uuid.UUID, tenant_id: uuid.UUID
) -> Document:
    doc = await session.get(Document, document_id, populate_existing=True)
    if doc is None or doc.tenant_id != tenant_id or doc.status == DocumentStatus.DELETED:
        raise DocumentNotFound(f"no document {document_id}", document_id=str(document_id))
    return doc


def finishing_priority(priority: Priority | str) -> Priority:
    """The priority of a document's final step: one rank above its other
    work (``critical`` stays ``critical``). A queue of new documents is
    consumed first step after first step; a document whose text is already
    read must not wait behind all of them for its last step, or every
    document of a burst would be ready only once the whole burst is read."""
    order = Priority.in_order()
    return order[max(0, Priority(priority).rank - 1)]


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
            page_count, to_ocr = await extract_pdf(msg, document_id, str(path))
        else:
            page_count, to_ocr = await extract_whole(msg, document_id, kind, str(path))

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
                priority=finishing_priority(fan_priority),
                embedding_model=msg.embedding_model,
            ),
            tenant_id=tenant_id,
            document_id=document_id,
            priority=fan_priority,
            then_queue=Queue.DOCUMENTS_LARGE if large else None,
            then_priority=finishing_priority(fan_priority),
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
    async with res.sessions() as session:
        pages = await load_pages(session, document_id)
    language = detect_language("\n".join(p.text for p in pages))
    model = await asyncio.to_thread(embedder_for, language)
    async with res.sessions() as session:
        failed = await failed_pages(session, ctx.job_id)
        # vectors this model already made for the same chunk texts
        reusable = await reusable_vectors(
            session, document_id=document_id, model_version=model.model_version
        )
    fields = await asyncio.to_thread(extract_fields, page_texts(pages))
    await progress("chunking")
    # Tokenising a long document takes a while: not on the loop that runs
    # the other documents' coroutines.
    chunks = await asyncio.to_thread(chunk_pages, pages, model.token_spans, ChunkingOptions())
    vectors: list[Any] = [reusable.get(c.text.replace("\x00", "")) for c in chunks]
    missing = [i for i, v in enumerate(vectors) if v is None]
    if not missing:
        await progress("embedding", done=0, total=0)
    for start in range(0, len(missing), EMBED_SLICE):
        await progress("embedding", done=start, total=len(missing))
        part = missing[start : start + EMBED_SLICE]
        encoded = await chunk_batcher(model).encode_many([model_text(chunks[i].text) for i in part])
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
