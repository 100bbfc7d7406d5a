"""The reference path: documents stored and queued through the ORM and the
outbox (:mod:`folio_shared.jobs.outbox`).

Upload (:func:`store_upload`): the document row and, when it is processed,
its job (with its message) are written in one transaction; after the
commit the message is sent at once. Same SHA-256 as one of the tenant's
documents: the new object is removed and the existing document is the
answer (also when the same bytes were uploaded concurrently).

Processing (:func:`queue_processing`): a document whose processing is
already pending, queued or running answers that job. A presigned upload
(``awaiting_upload``) is checked first
(:func:`~folio_api.domain.uploads.services.verify_upload`); a document
with the same bytes already stored answers that document instead.

If the broker is down, the job stays ``pending`` and the relay sends it
later: the client still gets its answer. The fast path (:mod:`.fast`)
answers most requests with the same outcome; this path answers the rest
(duplicates, presigned uploads) and every request while the fast path's
connection fails.
"""

from __future__ import annotations

import socket
import uuid

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.documents import repository
from folio_api.domain.documents.processing import ProcessOptions, process_message, queue_of
from folio_api.domain.documents.schemas import Ingested
from folio_api.domain.documents.upload_form import remove_file
from folio_api.domain.uploads.services import verify_upload
from folio_api.resources import Resources, reads, writes
from folio_shared.db.enums import DocumentStatus, JobStatus
from folio_shared.db.models import Document, Job
from folio_shared.jobs import outbox

#: What a lost database connection raises: the statement may have run.
CONNECTION_ERRORS = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)


def refused(error: BaseException) -> bool:
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
    return not isinstance(error, CONNECTION_ERRORS)


#: What a connection that could not be opened raises: nothing was sent.
NOT_CONNECTED = (
    ConnectionRefusedError,
    socket.gaierror,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError,  # "not accepting connections"
)


def never_sent(error: BaseException) -> bool:
    """Whether ``error`` (a statement's) means no connection could be opened,
    so the statement was never sent and wrote nothing."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig.__cause__ or error.orig
    return isinstance(error, NOT_CONNECTED)


async def store_upload(
    resources: Resources,
    document: Document,
    *,
    process: bool,
    options: ProcessOptions,
    fast_unsure: bool = False,
) -> Ingested:
    """Write the row of ``document`` (whose file is stored) and, when
    ``process``, its job (run with ``options``); send the job's message. ``fast_unsure``: the
    fast path's statement lost its connection and may have written them."""
    tenant_id, key, sha256 = document.tenant_id, document.storage_key, document.sha256
    assert sha256 is not None  # a stored file's
    async with writes(resources, tenant_id) as session:
        try:
            existing = await repository.find_by_sha256(session, tenant_id, sha256)
        except Exception:  # nothing written by this path: the object is ours to remove
            if not fast_unsure:
                await remove_file(resources, key)
            raise
        if existing is not None and existing.storage_key == key:
            return await _lost_answer(resources, existing)
        if existing is None:
            session.add(document)
            try:
                try:
                    await session.flush()
                    job = await _enqueue(resources, session, document, options) if process else None
                    await session.commit()
                except IntegrityError:
                    await session.rollback()  # the same bytes, uploaded concurrently
                    existing = await repository.find_by_sha256(session, tenant_id, sha256)
                    if existing is None:
                        raise
                else:
                    ids = outbox.pending_ids(session)
            except BaseException as e:
                if not fast_unsure and refused(e):  # rolled back: no row names the object
                    await remove_file(resources, key)
                raise
    if existing is not None:
        await remove_file(resources, key)
        return await existing_answer(resources, existing)
    await _dispatch(resources, ids, job)
    return Ingested(document, job)


async def _lost_answer(resources: Resources, document: Document) -> Ingested:
    """The upload's own document, written by the fast path's statement
    (:data:`~.fast.queueing.STORE`) whose connection failed before its
    answer came back: its job (if any) was never sent, so it is sent now."""
    answer = await existing_answer(resources, document, duplicate=False)
    job = answer.job
    if job is not None and job.status == JobStatus.QUEUED and resources.batcher is not None:
        await resources.batcher.send(document, job)
    return answer


async def existing_answer(
    resources: Resources, document: Document, *, duplicate: bool = True
) -> Ingested:
    """``document`` (stored before this request) with its latest job."""
    async with reads(resources, document.tenant_id) as session:
        latest = await repository.latest_jobs(session, [document.id])
    return Ingested(document, latest.get(document.id), duplicate=duplicate)


async def queue_processing(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID, options: ProcessOptions
) -> Ingested:
    """(Re)queue a document's processing; see the module notes."""
    async with writes(resources, tenant_id) as session:
        document = await repository.get_document(session, tenant_id, document_id, for_update=True)
        active = await repository.active_job(session, document.id)
        if active is not None:
            return Ingested(document, active)
        if document.status == DocumentStatus.AWAITING_UPLOAD:
            sha256 = await verify_upload(resources, document)
            existing = await repository.find_by_sha256(session, tenant_id, sha256)
            if existing is not None:
                await repository.delete_row(session, document.id)
                await session.commit()
                await remove_file(resources, document.storage_key)
                return await existing_answer(resources, existing)
        document.status = DocumentStatus.QUEUED
        document.error = None
        job = await _enqueue(resources, session, document, options)
        await session.commit()
        ids = outbox.pending_ids(session)
    await _dispatch(resources, ids, job)
    return Ingested(document, job)


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
