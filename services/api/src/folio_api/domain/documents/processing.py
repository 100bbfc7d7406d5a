"""What a process request asks for, and the message and queue of its job:
the part the reference path (:mod:`.reference`) and the fast path
(:mod:`.fast`) share.

The fast path builds the same message in SQL from the document row
(:data:`~.fast.queueing.PAYLOAD_FROM_DOCUMENT`, the queue by size);
``tests/integration/api/test_api_process.py`` compares the two.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from folio_shared.db.models import Document
from folio_shared.messages import Priority, ProcessDocumentV1, Queue
from folio_shared.messages.documents import OcrRotation
from folio_shared.settings import FolioSettings


@dataclass(frozen=True, slots=True)
class ProcessOptions:
    """What a process request asks for."""

    priority: Priority
    force_ocr: bool
    ocr_languages: str | None
    expected: dict[str, str] | None = None
    ocr_rotate: OcrRotation = "auto"


def process_message(
    document: Document, job_id: uuid.UUID, options: ProcessOptions
) -> ProcessDocumentV1:
    """The processing message of ``document`` (the fast path builds the same
    from the row: :data:`~.fast.queueing.PAYLOAD_FROM_DOCUMENT`)."""
    return ProcessDocumentV1(
        job_id=str(job_id),
        tenant_id=str(document.tenant_id),
        document_id=str(document.id),
        storage_key=document.storage_key,
        content_type=document.content_type or "application/octet-stream",
        priority=options.priority,
        force_ocr=options.force_ocr,
        ocr_languages=options.ocr_languages,
        expected=options.expected,
        ocr_rotate=options.ocr_rotate,
    )


def queue_of(settings: FolioSettings, document: Document) -> Queue | None:
    """``Queue.DOCUMENTS_LARGE`` for large files
    (``FOLIO_PIPELINE_LARGE_DOCUMENT_BYTES``), else the type's own (the
    fast path decides the same from the row: :data:`~.fast.queueing.QUEUE`)."""
    large = (document.size_bytes or 0) >= settings.pipeline.large_document_bytes
    return Queue.DOCUMENTS_LARGE if large else None
