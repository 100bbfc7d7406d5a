"""A document's last step: fields, chunks, vectors, final status.

:func:`finish` classifies the document and extracts its structured fields
(stage ``fields``; stored with the extractor's version, and re-run on every
run of this step, so a newer extractor re-extracts from the stored pages
without re-OCR), chunks the pages, embeds the chunks, and replaces the
document's chunks in one transaction (search never sees a half-replaced
document), then marks the document ``ready`` — or ``partial`` when some
pages failed OCR (they are listed in the document's metadata) — or
``failed`` when no page has text.

It runs as ``docs.finalize``, the completion step of a document whose
pages went to OCR, or inside ``docs.process`` itself when no page needs
OCR (:func:`folio_worker_docs.pipeline.process`): a text PDF then takes one
message, one claim and one outcome instead of two. Either way it is
idempotent: run twice, it leaves one set of chunks and the same status.

Vectors are reused: a chunk whose text the current model already embedded
for this document keeps its vector, so reprocessing with an unchanged model
embeds nothing, and a new model version re-embeds all.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from folio_shared.db.enums import DocumentStatus
from folio_shared.errors import InvalidInput
from folio_shared.jobs import current_job, progress
from folio_shared.language import detect_language
from folio_shared.logging import get_logger
from folio_shared.pages import PIPELINE_VERSION, load_pages
from folio_shared.resources import resources
from folio_worker_docs import document_rows
from folio_worker_docs.chunks_store import chunk_totals, replace_document_chunks, reusable_vectors
from folio_worker_docs.embedders import chunk_batcher, embedder_for
from folio_worker_docs.extraction import extract as extract_fields
from folio_worker_docs.extraction.privacy import masked_fields
from folio_worker_docs.failed_pages import describe_failed, failed_pages
from folio_worker_docs.fields_store import page_texts, save_fields
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages, model_text

log = get_logger(__name__)

#: Texts embedded per call (progress is reported between calls).
EMBED_SLICE = 256


class DocumentUnreadable(InvalidInput):
    """No page of the document yielded any text."""

    code = "document_unreadable"


class StoredPage(Protocol):
    """A page as the last step reads it: a stored row, or the page
    ``docs.process`` has just stored."""

    @property
    def page_no(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def low_confidence(self) -> bool: ...


@dataclass(frozen=True)
class Known:
    """What the caller already knows of the document (``docs.process``
    just wrote its row): ``page_count`` goes into the final write instead
    of one of its own; ``chunks=False`` says the row had no chunks, so no
    vector can be reused and none is looked for.

    ``pages``: every page of the document as ``docs.process`` has just
    stored them (:attr:`folio_worker_docs.extracting.Extracted.pages`), in
    page order. They are used as they are, instead of being read back in a
    transaction of its own, and no page can have failed OCR: a page handed
    to OCR by an earlier attempt of this job either left a stored page
    behind (then this run found a checkpoint and gives no pages) or still
    needs OCR (then this run hands it over again and does not finish)."""

    page_count: int | None = None
    chunks: bool = True
    pages: Sequence[StoredPage] | None = None


async def finish(
    tenant_id: uuid.UUID, document_id: uuid.UUID, known: Known | None = None
) -> dict[str, Any]:
    """Extract fields, chunk, embed and index the document; decide its
    final status. Returns the job's result."""
    known = known or Known()
    ctx = current_job()
    res = resources()
    await progress("fields")
    pages: Sequence[StoredPage]
    failed: dict[int, str] = {}
    if known.pages is not None:
        pages = known.pages
    else:
        async with res.sessions() as session:
            pages = await load_pages(session, document_id)
            failed = await failed_pages(session, ctx.job_id)
    language = detect_language("\n".join(p.text for p in pages))
    model = await asyncio.to_thread(embedder_for, language)
    reusable: dict[str, Any] = {}
    if known.chunks:
        async with res.sessions() as session:
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
    unreadable = "no text could be read from any page" + (
        f" ({describe_failed(failed)})" if failed else ""
    )
    if not has_text:
        status, error = DocumentStatus.FAILED, unreadable
    elif failed:
        status, error = DocumentStatus.PARTIAL, describe_failed(failed)
    else:
        status, error = DocumentStatus.READY, None
    chunk_count, token_count = chunk_totals(chunks)
    async with res.sessions() as session, session.begin():
        # the row first: its lock serialises two writers of the same chunks
        await document_rows.finish(
            session,
            tenant_id,
            document_id,
            document_rows.FinalState(
                status=status,
                error=error,
                low_confidence_pages=low_confidence,
                meta={"failed_pages": sorted(failed), "language": language},
                chunk_count=chunk_count,
                token_count=token_count,
                page_count=known.page_count,
            ),
        )
        written = await replace_document_chunks(
            session,
            tenant_id=tenant_id,
            document_id=document_id,
            chunks=chunks,
            vectors=vectors,
            model_version=model.model_version,
            pipeline_version=PIPELINE_VERSION,
            language=language,
            row_written=True,
        )
        verdicts = await save_fields(
            session, tenant_id=tenant_id, document_id=document_id, result=fields
        )
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
