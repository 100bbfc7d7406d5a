"""Getting files in: the streamed multipart upload, and queuing processing.

Upload (:func:`upload_form`): the form is read as a stream
(:class:`~folio_api.domain.documents.form_stream.FormStream`). The file
part's first :data:`~folio_api.domain.documents.filetypes.SNIFF_BYTES` decide its type
(:func:`~folio_api.domain.documents.filetypes.check_upload`) before anything is stored;
then the part is streamed to storage under a random key
``tenants/<tenant>/documents/<uuid>`` while it is hashed (SHA-256) and
counted. Past ``settings.upload.max_bytes`` the stream stops with 413 and
the storage keeps nothing. Same SHA-256 as one of the tenant's documents:
the new object is removed and the existing document is the answer.

Rows: the document and its job (already ``queued``, with its events) are
written by one autocommitted statement (:data:`~.queueing.STORE`) on the
API's asyncpg pool, and the job's message goes out with the ``process``
requests' sends (:mod:`~.batching`): what was two transactions of about
eight statements and a re-read of the job. The ORM path below answers
duplicates, and takes over when that pool's connection fails.

Processing (:func:`queue_processing`): the document row and the job (with
its message, the outbox) are written in one transaction; after the commit
the message is sent at once. If the broker is down, the job stays
``pending`` and the relay sends it later: the client still gets its answer.
Files of ``FOLIO_PIPELINE_LARGE_DOCUMENT_BYTES`` or more go to
``Queue.DOCUMENTS_LARGE``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from multipart import MultipartSegment  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.documents import batching, queueing, repository
from folio_api.domain.documents.filetypes import (
    SNIFF_BYTES,
    FileType,
    check_upload,
    sanitize_filename,
)
from folio_api.domain.documents.form_stream import END, FormStream, boundary_of
from folio_api.domain.documents.schemas import DocumentFields
from folio_api.domain.jobs.schemas import JobFields
from folio_api.resources import Resources
from folio_shared.db.enums import DocumentStatus, JobStatus
from folio_shared.db.models import Document, Job
from folio_shared.errors import DocumentNotFound, FileTooLarge, InvalidInput, ObjectNotFound
from folio_shared.jobs import outbox
from folio_shared.logging import get_logger
from folio_shared.messages import Priority, ProcessDocumentV1, Queue, physical_queue_name
from folio_shared.settings import FolioSettings

log = get_logger(__name__)

#: Room for the multipart framing and text fields on top of the file limit.
FORM_OVERHEAD_BYTES = 256 * 1024
#: Largest ``metadata`` (the form field, or a presigned upload's), in bytes.
MAX_METADATA_BYTES = 16 * 1024
#: Deepest nesting of objects and arrays in ``metadata``.
MAX_METADATA_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Ingested:
    """Outcome of an upload or process request: the document, its job
    (``None`` when not queued), and whether the document already existed."""

    document: DocumentFields
    job: JobFields | None
    duplicate: bool = False


def storage_key_for(tenant_id: uuid.UUID) -> str:
    """A fresh random storage key under the tenant's prefix."""
    return f"tenants/{tenant_id}/documents/{uuid.uuid4()}"


def parse_metadata(raw: bytes) -> dict[str, Any]:
    """The ``metadata`` form field: a JSON object (see :func:`check_metadata`)."""
    try:
        value = json.loads(raw or b"{}", parse_constant=_no_constant)
    except RecursionError as e:
        raise InvalidInput(
            f"form field 'metadata': nested deeper than {MAX_METADATA_DEPTH} levels"
        ) from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidInput("form field 'metadata': not valid JSON") from e
    if not isinstance(value, dict):
        raise InvalidInput("form field 'metadata': must be a JSON object")
    return check_metadata(value, "form field 'metadata'")


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def check_metadata(value: dict[str, Any], field: str) -> dict[str, Any]:
    """``value`` if PostgreSQL's ``jsonb`` can keep it as the client sent it,
    else :class:`InvalidInput` naming ``field``: at most
    :data:`MAX_METADATA_BYTES` as JSON and :data:`MAX_METADATA_DEPTH`
    levels deep, no NUL character (``\\u0000``) or lone surrogate in a
    key or string, no number too large for a double (``1e400``) or
    ``NaN``. Found here, these are a 400; found by the database, they
    were a 500 after the file was stored."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_METADATA_DEPTH:
                raise InvalidInput(f"{field}: nested deeper than {MAX_METADATA_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key, field)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item, field)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput(f"{field}: numbers must be finite (and within a double's range)")
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise InvalidInput(f"{field}: over {MAX_METADATA_BYTES} bytes as JSON")
    return value


def _check_text(text: str, field: str) -> None:
    if "\x00" in text:
        raise InvalidInput(f"{field}: text may not contain the NUL character (\\u0000)")
    try:
        text.encode()
    except UnicodeEncodeError as e:
        raise InvalidInput(f"{field}: text may not contain a lone UTF-16 surrogate") from e


class _Measured:
    """Counts and hashes the bytes it passes on; stops past ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size_bytes = 0
        self.digest = hashlib.sha256()

    async def stream(self, head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        if head:
            self._count(head)
            yield head
        async for chunk in rest:
            self._count(chunk)
            yield chunk

    def _count(self, chunk: bytes) -> None:
        self.size_bytes += len(chunk)
        if self.size_bytes > self.max_bytes:
            raise FileTooLarge(
                f"the file is over the upload limit of {self.max_bytes} bytes",
                max_bytes=self.max_bytes,
            )
        self.digest.update(chunk)


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
    false) queue its processing; see the module notes."""
    settings = resources.settings
    max_bytes = settings.upload.max_bytes
    boundary = boundary_of(content_type)
    if content_length is not None and content_length > max_bytes + FORM_OVERHEAD_BYTES:
        raise FileTooLarge(
            f"the request body ({content_length} bytes) is over the upload limit of "
            f"{max_bytes} bytes",
            max_bytes=max_bytes,
        )
    form = FormStream(body, boundary, max_body_bytes=max_bytes + FORM_OVERHEAD_BYTES)
    metadata: dict[str, Any] = {}
    stored: tuple[str, str, FileType, int, str] | None = None  # key, name, type, size, sha
    try:
        while (event := await form.next()) is not END:
            if not isinstance(event, MultipartSegment):
                continue
            if event.filename is not None or event.name == "file":
                if event.name != "file":
                    raise InvalidInput(
                        f"form field {event.name!r}: files go in the field named 'file'"
                    )
                if stored is not None:
                    raise InvalidInput("form field 'file': only one file per upload")
                stored = await _store_file(resources, tenant_id, form, event, max_bytes)
            elif event.name == "metadata":
                metadata = parse_metadata(await form.read_part(MAX_METADATA_BYTES, "metadata"))
            else:
                raise InvalidInput(
                    f"form field {event.name!r}: unknown (expected 'file' and 'metadata')"
                )
        if stored is None:
            raise InvalidInput("form field 'file': missing (send the file as the part 'file')")
    except BaseException:
        if stored is not None:
            await _remove(resources, stored[0])
        raise
    key, filename, file_type, size_bytes, sha256 = stored
    document = Document(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        filename=filename,
        kind=file_type.kind,
        content_type=file_type.content_type,
        size_bytes=size_bytes,
        sha256=sha256,
        storage_key=key,
        status=DocumentStatus.QUEUED if process else DocumentStatus.UPLOADED,
        meta=metadata,
    )
    fast_unsure = False  # the fast statement's connection failed: it may have written
    if resources.batcher is not None:
        fast = await _store_fast(resources, document, process, priority)
        if isinstance(fast, Ingested):
            return fast
        fast_unsure = fast is _UNSURE
    assert resources.sessions is not None
    async with resources.sessions() as session:
        existing = await repository.find_by_sha256(session, tenant_id, sha256)
        if existing is not None and existing.storage_key == key:
            return await _lost_answer(resources, existing)
        if existing is None:
            session.add(document)
            try:
                try:
                    await session.flush()
                    job = (
                        await _enqueue(
                            resources, session, document, ProcessOptions(priority, False, None)
                        )
                        if process
                        else None
                    )
                    await session.commit()
                except IntegrityError:
                    await session.rollback()  # the same bytes, uploaded concurrently
                    existing = await repository.find_by_sha256(session, tenant_id, sha256)
                    if existing is None:
                        raise
                else:
                    ids = outbox.pending_ids(session)
            except BaseException as e:
                if not fast_unsure and _refused(e):  # rolled back: no row names the object
                    await _remove(resources, key)
                raise
    if existing is not None:
        await _remove(resources, key)
        return await _existing(resources, existing)
    await _dispatch(resources, ids, job)
    return Ingested(document, job)


#: :func:`_store_fast`'s answer when its connection failed mid-statement.
_UNSURE = object()
#: What a lost database connection raises: the statement may have run.
_CONNECTION_ERRORS = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)


def _refused(error: BaseException) -> bool:
    """Whether ``error`` means the write it came from certainly wrote
    nothing: the database answered with an error (a refused statement, or
    a transaction that failed before or at its commit), or Python failed
    before the commit was sent. A lost connection or a cancelled request
    (client gone) may have committed; their object is left to the
    scheduler's orphan sweep, which checks the database before it deletes."""
    if not isinstance(error, Exception):  # cancelled, or the process is stopping
        return False
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return False
        if error.orig is not None:  # the driver's error, or the asyncpg one under it
            error = error.orig.__cause__ or error.orig
    return not isinstance(error, _CONNECTION_ERRORS)


async def _store_fast(
    resources: Resources, document: Document, process: bool, priority: Priority
) -> Ingested | object | None:
    """Write ``document`` (and its job, when ``process``) in one statement
    (:data:`~.queueing.STORE`) and send the job's message with the
    ``process`` requests' sends (:meth:`~.batching.QueueBatcher.send`).
    For the ORM path to answer: ``None`` when the tenant holds these bytes
    already (nothing written), :data:`_UNSURE` when the statement's
    connection failed (it may have written them, see :func:`_lost_answer`)."""
    batcher = resources.batcher
    assert batcher is not None
    job: dict[str, Any] = {}
    if process:
        job_id = uuid.uuid4()
        message = process_message(document, job_id, ProcessOptions(priority, False, None))
        job = {
            "job_id": job_id,
            "message_id": str(uuid.uuid4()),
            "priority": priority.value,
            "max_retries": resources.settings.jobs.max_retries,
            "envelope": outbox.envelope(
                message, priority=priority, queue=queue_of(resources.settings, document)
            ),
        }
    upload = queueing.Upload(
        document_id=document.id,
        tenant_id=document.tenant_id,
        filename=document.filename,
        kind=str(document.kind),
        content_type=document.content_type or "application/octet-stream",
        size_bytes=document.size_bytes or 0,
        sha256=document.sha256 or "",
        storage_key=document.storage_key,
        metadata=document.meta,
        **job,
    )
    try:
        async with batcher.pool.acquire() as conn:
            stored = await queueing.store(conn, upload)
    except _CONNECTION_ERRORS as e:
        log.warning("fast upload path unavailable; using the ORM path", error=repr(e))
        return _UNSURE
    except Exception:  # refused by the database (autocommitted): nothing written
        await _remove(resources, document.storage_key)
        raise
    if stored is None:
        return None
    fields, written = stored
    if written is not None:
        await batcher.send(batching.Request(), fields, written)
    return Ingested(fields, written)


async def _lost_answer(resources: Resources, document: Document) -> Ingested:
    """The upload's own document, written by :data:`~.queueing.STORE`
    whose connection failed before its answer came back: its job (if any)
    was never sent, so it is sent now."""
    answer = await _existing(resources, document, duplicate=False)
    job = answer.job
    if job is not None and job.status == JobStatus.QUEUED and resources.batcher is not None:
        await resources.batcher.send(batching.Request(), document, job)
    return answer


async def _store_file(
    resources: Resources,
    tenant_id: uuid.UUID,
    form: FormStream,
    part: MultipartSegment,
    max_bytes: int,
) -> tuple[str, str, FileType, int, str]:
    filename = sanitize_filename(part.filename)
    chunks = form.body_chunks()
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    if len(head) > max_bytes:
        raise FileTooLarge(
            f"the file is over the upload limit of {max_bytes} bytes", max_bytes=max_bytes
        )
    file_type = check_upload(
        head[:SNIFF_BYTES],
        filename,
        allowed=resources.settings.upload.allowed,
        declared_content_type=part.content_type,
    )
    key = storage_key_for(tenant_id)
    measured = _Measured(max_bytes)
    await resources.storage.put_stream(
        key, measured.stream(head, chunks), content_type=file_type.content_type
    )
    return key, filename, file_type, measured.size_bytes, measured.digest.hexdigest()


async def _remove(resources: Resources, key: str) -> None:
    with contextlib.suppress(ObjectNotFound):
        await resources.storage.delete(key)


async def _existing(
    resources: Resources, document: Document, *, duplicate: bool = True
) -> Ingested:
    assert resources.sessions is not None
    async with resources.sessions() as session:
        latest = await repository.latest_jobs(session, [document.id])
    return Ingested(document, latest.get(document.id), duplicate=duplicate)


@dataclass(frozen=True, slots=True)
class ProcessOptions:
    """What a process request asks for."""

    priority: Priority
    force_ocr: bool
    ocr_languages: str | None


def process_message(
    document: Document, job_id: uuid.UUID, options: ProcessOptions
) -> ProcessDocumentV1:
    """The processing message of ``document`` (the fast path builds the same
    from the row: :data:`~.queueing.PAYLOAD_FROM_DOCUMENT`)."""
    return ProcessDocumentV1(
        job_id=str(job_id),
        tenant_id=str(document.tenant_id),
        document_id=str(document.id),
        storage_key=document.storage_key,
        content_type=document.content_type or "application/octet-stream",
        priority=options.priority,
        force_ocr=options.force_ocr,
        ocr_languages=options.ocr_languages,
    )


def queue_of(settings: FolioSettings, document: Document) -> Queue | None:
    """``Queue.DOCUMENTS_LARGE`` for large files
    (``FOLIO_PIPELINE_LARGE_DOCUMENT_BYTES``), else the type's own (the
    fast path decides the same from the row: :data:`~.queueing.QUEUE`)."""
    large = (document.size_bytes or 0) >= settings.pipeline.large_document_bytes
    return Queue.DOCUMENTS_LARGE if large else None


async def _enqueue(
    resources: Resources, session: AsyncSession, document: Document, options: ProcessOptions
) -> Job:
    return await outbox.enqueue(
        session,
        process_message(document, uuid.uuid4(), options),
        tenant_id=document.tenant_id,
        document_id=document.id,
        max_retries=resources.settings.jobs.max_retries,
        queue=queue_of(resources.settings, document),
    )


async def _dispatch(resources: Resources, ids: list[uuid.UUID], job: Job | None) -> None:
    """Send the committed jobs now; whatever fails stays for the relay."""
    if not ids or job is None:
        return
    assert resources.jobs is not None
    try:
        sent = await resources.jobs.dispatch(ids)
    except Exception:  # the database hiccuped after the commit: the relay sends it
        sent = 0
    if sent:
        job.status = JobStatus.QUEUED


async def queue_processing(
    resources: Resources,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    priority: Priority,
    force_ocr: bool = False,
    ocr_languages: str | None = None,
) -> Ingested:
    """(Re)queue a document's processing.

    A document whose processing is already pending, queued or running
    answers that job (nothing new is queued). A presigned upload
    (``awaiting_upload``) is checked first: the object must exist, be
    within the size limit and have the type its name promised; a document
    with the same bytes already stored answers that document instead.

    Stored documents take the one-statement path of
    :mod:`~folio_api.domain.documents.queueing`; presigned uploads, and
    any request while that path's connection fails, take the ORM path.
    """
    options = ProcessOptions(priority, force_ocr, ocr_languages)
    if resources.batcher is not None:
        try:
            fast = await _queue_fast(resources, tenant_id, document_id, options)
        except _CONNECTION_ERRORS as e:
            log.warning("fast queue path unavailable; using the ORM path", error=repr(e))
            fast = None
        if fast is not None:
            return fast
    return await _queue_orm(resources, tenant_id, document_id, options)


def process_ask(
    settings: FolioSettings,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    priority: Priority = Priority.NORMAL,
    force_ocr: bool = False,
    ocr_languages: str | None = None,
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


#: Attempts of the fast path when the document changes under it.
FAST_ATTEMPTS = 3


async def _queue_fast(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID, options: ProcessOptions
) -> Ingested | None:
    """:func:`queue_processing` for stored documents, in a batch with the
    requests of this process that arrive meanwhile
    (:mod:`~folio_api.domain.documents.batching`); ``None``: use the ORM path."""
    if resources.batcher is None:
        return None

    for _ in range(FAST_ATTEMPTS):
        outcome, document, job = await resources.batcher.queue(
            batching.Request(
                process_ask(
                    resources.settings,
                    tenant_id,
                    document_id,
                    priority=options.priority,
                    force_ocr=options.force_ocr,
                    ocr_languages=options.ocr_languages,
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


async def _queue_orm(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID, options: ProcessOptions
) -> Ingested:
    """:func:`queue_processing` through the ORM and the outbox."""
    assert resources.sessions is not None
    async with resources.sessions() as session:
        document = await repository.get_document(session, tenant_id, document_id, for_update=True)
        active = await repository.active_job(session, document.id)
        if active is not None:
            return Ingested(document, active)
        if document.status == DocumentStatus.AWAITING_UPLOAD:
            from folio_api.domain.uploads.services import verify_upload

            sha256 = await verify_upload(resources, document)
            existing = await repository.find_by_sha256(session, tenant_id, sha256)
            if existing is not None:
                await repository.delete_row(session, document.id)
                await session.commit()
                await _remove(resources, document.storage_key)
                return await _existing(resources, existing)
        document.status = DocumentStatus.QUEUED
        document.error = None
        job = await _enqueue(resources, session, document, options)
        await session.commit()
        ids = outbox.pending_ids(session)
    await _dispatch(resources, ids, job)
    return Ingested(document, job)
