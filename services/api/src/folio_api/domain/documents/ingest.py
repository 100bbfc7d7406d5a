"""Getting documents in: the services of the upload and ``process`` routes.

Each request takes the fast path (:mod:`.fast`: one statement, batched
sends) when it can, and the reference path (:mod:`.reference`: the ORM and
the outbox) otherwise: for duplicates, presigned uploads, and whenever the
fast path's database connection fails. Both give the same answer, and
write the same rows and messages.

Upload (:func:`upload_form`): the form is read and its file stored
(:mod:`.upload_form`), then the document's rows are written and its job's
message sent. Processing (:func:`queue_processing`): files of
``FOLIO_PIPELINE_LARGE_DOCUMENT_BYTES`` or more go to
``Queue.DOCUMENTS_LARGE`` (:mod:`.processing`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request

from folio_api.domain.documents import reference
from folio_api.domain.documents.fast import process as fast_process
from folio_api.domain.documents.fast import upload as fast_upload
from folio_api.domain.documents.processing import ProcessOptions
from folio_api.domain.documents.schemas import Ingested, ProcessRequest, UploadOut, upload_out
from folio_api.domain.documents.upload_form import read_form, remove_file
from folio_api.resources import Resources
from folio_shared.db.enums import DocumentStatus, JobStatus
from folio_shared.db.models import Document
from folio_shared.errors import InvalidInput
from folio_shared.logging import get_logger
from folio_shared.messages import Priority
from folio_shared.messages.documents import OcrRotation

log = get_logger(__name__)

#: Document statuses a job's actor writes as it ends. The job's own end is
#: recorded a moment later, in its worker's next outcome round.
_ENDED = frozenset({DocumentStatus.READY, DocumentStatus.FAILED, DocumentStatus.PARTIAL})
#: How long a ``process`` request waits for such a job to record its end
#: before it answers the job (see :func:`queue_processing`).
FINISHING_WAIT_S = 2.0
_FINISHING_POLL_S = 0.02


async def upload_request(
    resources: Resources,
    tenant_id: uuid.UUID,
    request: Request[Any, Any, Any],
    *,
    process: bool,
    priority: Priority,
) -> Ingested:
    """:func:`upload_form` for an HTTP request's multipart body (streamed;
    ``Content-Length``, when given, must be a number)."""
    length = request.headers.get("content-length")
    try:
        content_length = int(length) if length is not None else None
    except ValueError as e:
        raise InvalidInput("header 'Content-Length': not a number") from e
    return await upload_form(
        resources,
        tenant_id,
        request.stream(),
        content_type=request.headers.get("content-type"),
        content_length=content_length,
        process=process,
        priority=priority,
    )


async def upload_form(
    resources: Resources,
    tenant_id: uuid.UUID,
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
    process: bool,
    priority: Priority,
) -> Ingested:
    """Store the file of a multipart upload and (unless ``process`` is
    false) queue its processing; see the module notes. A ``priority`` above
    the tenant's maximum is refused before the body is read."""
    await check_priority(resources, tenant_id, priority)
    form = await read_form(
        resources, tenant_id, body, content_type=content_type, content_length=content_length
    )
    options = ProcessOptions(priority, False, None, form.expected)
    document = Document(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        filename=form.filename,
        kind=form.file_type.kind,
        content_type=form.file_type.content_type,
        size_bytes=form.size_bytes,
        sha256=form.sha256,
        storage_key=form.key,
        status=DocumentStatus.QUEUED if process else DocumentStatus.UPLOADED,
        meta=form.metadata,
    )
    fast_unsure = False  # the fast statement's connection failed: it may have written
    if resources.batcher is not None:
        try:
            stored = await fast_upload.store(resources, document, process=process, options=options)
        except reference.CONNECTION_ERRORS as e:
            log.warning("fast upload path unavailable; using the ORM path", error=repr(e))
            fast_unsure = not reference.never_sent(e)
        except Exception:  # refused by the database (autocommitted): nothing written
            await remove_file(resources, form.key)
            raise
        else:
            if stored is not None:
                fields, job = stored
                if job is not None:
                    await resources.batcher.send(fields, job)
                return Ingested(fields, job)
    return await reference.store_upload(
        resources, document, process=process, options=options, fast_unsure=fast_unsure
    )


async def queue_processing(
    resources: Resources,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    priority: Priority,
    force_ocr: bool = False,
    ocr_languages: str | None = None,
    expected: dict[str, str] | None = None,
    ocr_rotate: OcrRotation = "auto",
) -> Ingested:
    """(Re)queue a document's processing.

    A document whose processing is already pending, queued or running
    answers that job (nothing new is queued), except a job in its last
    moment: its actor has written the document ``ready``, ``failed`` or
    ``partial`` and its end is not recorded yet. The request then waits for
    that end, up to :data:`FINISHING_WAIT_S`, and queues a new job. A presigned upload
    (``awaiting_upload``) is checked first: the object must exist, be
    within the size limit and have the type its name promised; a document
    with the same bytes already stored answers that document instead.

    Stored documents take the fast path (:mod:`.fast.process`); presigned
    uploads, and any request while that path's connection fails, take the
    reference path (:func:`.reference.queue_processing`).
    """
    options = ProcessOptions(priority, force_ocr, ocr_languages, expected, ocr_rotate)
    deadline = time.monotonic() + FINISHING_WAIT_S
    while True:
        result = await _queue_once(resources, tenant_id, document_id, options)
        if not _finishing(result) or time.monotonic() >= deadline:
            return result
        await asyncio.sleep(_FINISHING_POLL_S)


def _finishing(result: Ingested) -> bool:
    """The document is written as ended but its job is still running: the
    job is in its last moment. Answering it would drop the request (that
    job is about to end having done nothing of it), so the caller asks
    again once the job has recorded its end."""
    job = result.job
    return job is not None and job.status == JobStatus.RUNNING and result.document.status in _ENDED


async def _queue_once(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID, options: ProcessOptions
) -> Ingested:
    if resources.batcher is not None:
        try:
            fast = await fast_process.queue_processing(resources, tenant_id, document_id, options)
        except reference.CONNECTION_ERRORS as e:
            log.warning("fast queue path unavailable; using the ORM path", error=repr(e))
            fast = None
        if fast is not None:
            return fast
    return await reference.queue_processing(resources, tenant_id, document_id, options)


async def process_answer(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID, options: ProcessRequest
) -> tuple[UploadOut, int]:
    """Queue ``document_id`` with ``options``: the answer and its status
    (200 when the same bytes were already stored, a presigned upload's
    duplicate; else 202), for the route's handler and its shortcut
    (:mod:`.shortcut`) alike. A priority above the tenant's maximum is
    refused (:mod:`folio_api.domain.auth.limits`)."""
    await check_priority(resources, tenant_id, options.priority)
    result = await queue_processing(
        resources,
        tenant_id,
        document_id,
        priority=options.priority,
        force_ocr=options.force_ocr,
        ocr_languages=options.ocr_languages,
        expected=options.expected,
        ocr_rotate=options.rotate,
    )
    return upload_out(result), 200 if result.duplicate else 202


async def check_priority(resources: Resources, tenant_id: uuid.UUID, priority: Priority) -> None:
    """Refuse ``priority`` above the tenant's maximum (403 ``priority_not_allowed``)."""
    if priority is not Priority.LOW:
        assert resources.sessions is not None
        (await resources.limits.of(resources.sessions, tenant_id)).check_priority(priority)
