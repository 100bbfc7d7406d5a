"""``ocr.page``: OCR one page of a document, as a child job of its document.

Rendering and Tesseract run in the OCR pool's child processes (memory,
CPU and wall-time limits), waited on from a thread so the worker's event
loop and broker heartbeats never stall. The page is stored with its text,
confidence, languages, DPI and timing; a page that cannot be read fails its
job with the reason (no retry), and the document lists it. The page's
file is read only if it is the one its document row records (same key,
size and SHA-256: :mod:`folio_shared.document_files`).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from folio_shared.cpus import capped_threads
from folio_shared.db.enums import PageMethod
from folio_shared.document_files import document_file
from folio_shared.jobs import job_actor, progress
from folio_shared.messages import OcrPageV1
from folio_shared.pages import OCR_VERSION, PageText, upsert_pages
from folio_shared.resources import resources
from folio_shared.settings import get_settings
from folio_shared.storage.files import FileCache
from folio_worker_ocr.ocr import OcrPool, PageSource, options_from_settings

_settings = get_settings()


@functools.cache
def ocr_pool() -> OcrPool:
    """The process's OCR children, started on first use."""
    workers = capped_threads(_settings.worker.threads, _settings.worker.cpus)
    pool = OcrPool.from_settings(resources().settings, workers=workers)
    pool.start()
    return pool


@functools.cache
def file_cache() -> FileCache:
    return FileCache()


def close_pool() -> None:
    if ocr_pool.cache_info().currsize:
        ocr_pool().close()


@job_actor(OcrPageV1, time_limit_ms=_settings.jobs.ocr_time_limit_ms)
async def ocr_page(msg: OcrPageV1) -> dict[str, Any]:
    res = resources()
    await progress("ocr", done=0, total=1)
    async with res.sessions() as session:
        expected = await document_file(
            session, uuid.UUID(msg.tenant_id), uuid.UUID(msg.document_id), msg.storage_key
        )
    path = await file_cache().path(res.storage, msg.storage_key, expected=expected)
    options = options_from_settings(
        res.settings,
        languages=msg.languages,
        dpi=msg.dpi,
        rotate="detect" if msg.rotate else msg.rotation,
    )
    source = PageSource(content_type=msg.content_type, page_no=msg.page_no, path=str(path))
    result = await ocr_pool().ocr_page_async(source, options)
    async with res.sessions() as session, session.begin():
        await upsert_pages(
            session,
            uuid.UUID(msg.document_id),
            [
                PageText(
                    page_no=result.page_no,
                    text=result.text,
                    method=PageMethod.OCR,
                    ocr_confidence=result.mean_confidence,
                    ocr_languages=result.languages,
                    dpi=result.dpi,
                    duration_ms=int(result.render_ms + result.ocr_ms),
                    low_confidence=result.low_confidence,
                    ocr_version=OCR_VERSION,
                )
            ],
        )
    return {
        "page_no": result.page_no,
        "words": result.word_count,
        "mean_confidence": round(result.mean_confidence, 1),
        "rotation_degrees": result.rotation_degrees,
        "low_confidence": result.low_confidence,
        "ids_reread": result.ids_reread,
        "second_engine_failures": result.second_engine_failures,
    }
