"""The extraction stage of ``docs.process``: a document's text layer read in
an isolated child process and its text pages stored, in checkpoints.

A PDF is read in batches of :data:`EXTRACT_BATCH_PAGES` pages, each stored
before the next is read; other kinds in one call. Pages this pipeline
version already stored are not read again (a retried or reprocessed
document resumes where it stopped). The page count is checked against the
tenant's maximum before any page is stored.

Both functions return an :class:`Extracted`: besides the page count and the
pages left to OCR, the text pages stored, when this run read and stored
every page of the document, so the last step can use them as they are
instead of reading them back in a transaction of its own.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

from folio_shared import metrics
from folio_shared.db.enums import PageMethod
from folio_shared.isolation import IsolatedPool
from folio_shared.jobs import progress
from folio_shared.messages import ProcessDocumentV1
from folio_shared.pages import PageText, drop_pages_after, upsert_pages
from folio_shared.resources import resources
from folio_worker_docs.limits import check_page_count
from folio_worker_docs.text import TEXT_VERSION
from folio_worker_docs.text.extract import IMAGE_KINDS, extract_document
from folio_worker_docs.text.pdf import extract_pdf_pages, pdf_page_count, pdf_start
from folio_worker_docs.text.types import ExtractedPage, Extraction

#: PDF pages read per call of the extraction child; each batch is stored
#: before the next is read (a checkpoint).
EXTRACT_BATCH_PAGES = 25


@dataclass(frozen=True)
class Extracted:
    """What the extraction stage leaves for the rest of ``docs.process``.

    ``page_count``: pages of the document. ``to_ocr``: the pages to OCR.
    ``pages``: the document's text pages exactly as this run stored them,
    in page order, when this run read every page and none was stored
    before it (no checkpoint of an earlier run); ``None`` otherwise (the
    stored pages must then be read back)."""

    page_count: int
    to_ocr: list[int]
    pages: list[PageText] | None = None


@functools.cache
def _extraction_pool() -> IsolatedPool:
    settings = resources().settings
    return IsolatedPool(
        1,
        memory_limit_bytes=2 * 1024**3,
        cpu_time_limit_s=settings.jobs.document_time_limit_ms / 1000,
        wall_time_limit_s=settings.jobs.document_time_limit_ms / 1000,
        max_tasks_per_child=50,
        # a new child (one every 50 documents) starts with the parsers loaded
        preload=("folio_shared.isolation_child", "folio_worker_docs.text.extract"),
    )


def close_pools() -> None:
    """Stop the child processes (worker shutdown); a later extraction starts a new pool."""
    if _extraction_pool.cache_info().currsize:
        _extraction_pool().close()
        _extraction_pool.cache_clear()


async def extract_whole(
    msg: ProcessDocumentV1,
    document_id: uuid.UUID,
    kind: str,
    path: str,
    done: dict[int, PageMethod],
) -> Extracted:
    """Extract a non-PDF document in one call; store its text pages.
    ``done``: the pages already stored
    (:func:`~folio_shared.pages.finished_pages`)."""
    res = resources()
    extraction: Extraction = await _extraction_pool().run_async(extract_document, kind, path)
    check_page_count(res.settings.pipeline, msg.tenant_id, extraction.page_count)
    async with res.sessions() as session:
        text_pages = [
            PageText(
                page_no=p.page_no, text=p.text, method=PageMethod.TEXT, text_version=TEXT_VERSION
            )
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
    complete = not done and not msg.force_ocr
    return Extracted(extraction.page_count, to_ocr, text_pages if complete else None)


async def extract_pdf(
    msg: ProcessDocumentV1, document_id: uuid.UUID, path: str, done: dict[int, PageMethod]
) -> Extracted:
    """Read a PDF's text layer in batches of :data:`EXTRACT_BATCH_PAGES`,
    each batch's text pages stored (a checkpoint) before the next is read.
    Pages this pipeline version already stored are not read again, so a
    document whose worker died half-way resumes where it stopped (``done``:
    the pages already stored, :func:`~folio_shared.pages.finished_pages`).
    The page count comes with the first batch (one trip to the child for a
    short document) and is checked before any page is stored. The stored
    pages come back (:attr:`Extracted.pages`) when the whole document was
    one batch and nothing of it was stored before."""
    res = resources()
    pool = _extraction_pool()
    if msg.force_ocr:
        page_count = await pool.run_async(pdf_page_count, path)
        check_page_count(res.settings.pipeline, msg.tenant_id, page_count)
        await _store_batch(document_id, page_count, [])
        done = {n: m for n, m in done.items() if n <= page_count}
        every = list(range(1, page_count + 1))
        _count_reused(done, every)
        return Extracted(page_count, every)
    first = [n for n in range(1, EXTRACT_BATCH_PAGES + 1) if n not in done]
    page_count, pages = await pool.run_async(pdf_start, path, first)
    check_page_count(res.settings.pipeline, msg.tenant_id, page_count)
    done = {n: m for n, m in done.items() if n <= page_count}
    stored: list[PageText] | None = None
    to_ocr: list[int] = []
    for first_no in range(1, page_count + 1, EXTRACT_BATCH_PAGES):
        last = min(page_count, first_no + EXTRACT_BATCH_PAGES - 1)
        if first_no > 1:
            wanted = [n for n in range(first_no, last + 1) if n not in done]
            pages = await pool.run_async(extract_pdf_pages, path, wanted) if wanted else []
        metrics.PAGES_EXTRACTED.labels("pdf").inc(len(pages))
        # the first batch's transaction also drops pages past the count
        text_pages = await _store_batch(document_id, page_count if first_no == 1 else None, pages)
        if page_count <= EXTRACT_BATCH_PAGES and not done:
            stored = text_pages
        to_ocr.extend(p.page_no for p in pages if p.needs_ocr)
        await progress("extracting", done=last, total=page_count)
    _count_reused(done, to_ocr)
    return Extracted(page_count, to_ocr, stored)


async def _store_batch(
    document_id: uuid.UUID, page_count: int | None, pages: list[ExtractedPage]
) -> list[PageText]:
    """Store the text ``pages`` of a batch in one transaction; with
    ``page_count``, drop the stored pages past it first. Returns the pages
    as stored."""
    text_pages = [
        PageText(page_no=p.page_no, text=p.text, method=PageMethod.TEXT, text_version=TEXT_VERSION)
        for p in pages
        if not p.needs_ocr
    ]
    if page_count is None and not text_pages:
        return text_pages
    async with resources().sessions() as session:
        if page_count is not None:
            await drop_pages_after(session, document_id, page_count)
        await upsert_pages(session, document_id, text_pages)
        await session.commit()
    return text_pages


def _count_reused(done: dict[int, PageMethod], to_ocr: list[int]) -> None:
    redo = set(to_ocr)
    for page_no, method in done.items():
        if page_no not in redo:
            metrics.PAGES_REUSED.labels(str(method)).inc()
