"""A ``process`` request on a stored document, in a batch with the requests
of this API process that arrive meanwhile (:mod:`.batching`): one
statement (:data:`~.queueing.QUEUE`) and one Redis round trip per batch.
Presigned uploads (``awaiting_upload``) need their object checked first
and are left to the reference path (:func:`~..reference.queue_processing`).
"""

from __future__ import annotations

import uuid

from folio_api.domain.documents.fast import batching, queueing
from folio_api.domain.documents.processing import ProcessOptions
from folio_api.domain.documents.schemas import Ingested
from folio_api.resources import Resources
from folio_shared.errors import DocumentNotFound
from folio_shared.jobs import outbox
from folio_shared.messages import Priority, ProcessDocumentV1, Queue, physical_queue_name
from folio_shared.messages.documents import OcrRotation
from folio_shared.settings import FolioSettings

#: Attempts of the fast path when the document changes under it.
FAST_ATTEMPTS = 3


def process_ask(
    settings: FolioSettings,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    priority: Priority = Priority.NORMAL,
    force_ocr: bool = False,
    ocr_languages: str | None = None,
    expected: dict[str, str] | None = None,
    ocr_rotate: OcrRotation = "auto",
) -> queueing.Ask:
    """The fast path's request: the job's message but for the fields the
    statement takes from the document row (empty here)."""
    job_id = uuid.uuid4()
    msg = ProcessDocumentV1(
        job_id=str(job_id),
        tenant_id=str(tenant_id),
        document_id=str(document_id),
        storage_key="",
        content_type="",
        priority=priority,
        force_ocr=force_ocr,
        ocr_languages=ocr_languages,
        expected=expected,
        ocr_rotate=ocr_rotate,
    )
    env = outbox.envelope(msg, priority=priority)
    return queueing.Ask(
        document_id=document_id,
        tenant_id=tenant_id,
        job_id=job_id,
        message_id=str(uuid.uuid4()),
        priority=priority.value,
        max_retries=settings.jobs.max_retries,
        envelope=env,
        queue=env["queue"],
        large_queue=physical_queue_name(Queue.DOCUMENTS_LARGE, priority),
        large_bytes=settings.pipeline.large_document_bytes,
    )


async def queue_processing(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID, options: ProcessOptions
) -> Ingested | None:
    """Queue a stored document's processing; ``None``: use the reference
    path (a presigned upload, or a document that kept changing)."""
    batcher = resources.batcher
    assert batcher is not None
    for _ in range(FAST_ATTEMPTS):
        outcome, document, job = await batcher.queue(
            batching.Request(
                process_ask(
                    resources.settings,
                    tenant_id,
                    document_id,
                    priority=options.priority,
                    force_ocr=options.force_ocr,
                    ocr_languages=options.ocr_languages,
                    expected=options.expected,
                    ocr_rotate=options.ocr_rotate,
                )
            )
        )
        if outcome is batching.Outcome.NOT_FOUND:
            raise DocumentNotFound(f"no document {document_id}", document_id=str(document_id))
        if outcome is batching.Outcome.AWAITING_UPLOAD:
            return None
        if outcome is batching.Outcome.QUEUED:
            assert document is not None
            return Ingested(document, job)
        # CHANGED: queued by another request meanwhile? read again
    return None
