"""The document pipeline: download, extract, fan out OCR, chunk, embed, index.

``process`` runs as the document's job: it extracts the text layer in an
isolated child process and stores the pages that have text. When every
page had text (and the document is not large), it goes straight on to the
last step (:func:`folio_worker_docs.finishing.finish`: fields, chunks,
vectors, final status) in the same run: one message per document.
Otherwise it hands the pages that need OCR to ``ocr.page`` child jobs and
the job waits for them; ``finalize`` is the completion step of that same
job, run exactly once when the last page is done, and runs the same last
step. A large document without OCR pages also goes through ``finalize``,
on the large-documents queue, so its last step yields to small documents
and gets a time limit of its own.

Finished pages are checkpoints: a retried or reprocessed document keeps the
pages this pipeline version already produced and OCRs only what is missing.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import dramatiq

from folio_shared.document_files import checked_file
from folio_shared.jobs import WAITING, add_children, current_job, outbox, progress
from folio_shared.jobs.family import child_job_id
from folio_shared.messages import (
    FinalizeDocumentV1,
    OcrPageV1,
    Priority,
    ProcessDocumentV1,
    Queue,
)
from folio_shared.pages import finished_pages
from folio_shared.resources import resources
from folio_shared.storage.files import download
from folio_worker_docs import document_rows, finishing
from folio_worker_docs.extracting import extract_pdf, extract_whole
from folio_worker_docs.fields_store import save_expected
from folio_worker_docs.text import TEXT_VERSION


def finishing_priority(priority: Priority | str) -> Priority:
    """The priority of a document's final step: one rank above its other
    work (``critical`` stays ``critical``). A queue of new documents is
    consumed first step after first step; a document whose text is already
    read must not wait behind all of them for its last step, or every
    document of a burst would be ready only once the whole burst is read."""
    order = Priority.in_order()
    return order[max(0, Priority(priority).rank - 1)]


async def process(msg: ProcessDocumentV1) -> object:
    """Extract the text layer; finish the document at once when no page
    needs OCR, else fan out the pages that do and wait for them."""
    res = resources()
    tenant_id, document_id = uuid.UUID(msg.tenant_id), uuid.UUID(msg.document_id)
    async with res.sessions() as session:
        doc = await document_rows.start_processing(session, tenant_id, document_id)
        expected = checked_file(doc, msg.storage_key)
        kind = str(doc.kind or "")
        had_chunks = doc.chunk_count > 0
        done = await finished_pages(session, document_id, text_version=TEXT_VERSION)
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
            extracted = await extract_pdf(msg, document_id, str(path), done)
        else:
            extracted = await extract_whole(msg, document_id, kind, str(path), done)

    page_count, to_ocr = extracted.page_count, extracted.to_ocr
    large = page_count >= res.settings.pipeline.large_document_pages
    if not to_ocr and not large:
        known = finishing.Known(page_count=page_count, chunks=had_chunks, pages=extracted.pages)
        return await finishing.finish(tenant_id, document_id, known)
    return await _hand_over(msg, page_count, to_ocr, large=large)


async def _hand_over(
    msg: ProcessDocumentV1, page_count: int, to_ocr: list[int], *, large: bool
) -> object:
    """Hand the pages to OCR to child jobs (there may be none: a large
    document's last step goes to the large-documents queue) and the rest of
    the document to ``docs.finalize`` once they are done; the job waits."""
    ctx = current_job()
    res = resources()
    tenant_id, document_id = uuid.UUID(msg.tenant_id), uuid.UUID(msg.document_id)
    async with res.sessions() as session:
        await document_rows.set_page_count(session, tenant_id, document_id, page_count)
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
    """The completion step of a document that handed pages to OCR, or of
    a large one."""
    return await finishing.finish(uuid.UUID(msg.tenant_id), uuid.UUID(msg.document_id))
