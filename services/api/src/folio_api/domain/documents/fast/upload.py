"""A multipart upload's rows in one statement: the document and, when it
is processed, its job (already ``queued``, with its events), written by
:data:`~.queueing.STORE` autocommitted on the API's asyncpg pool; the
job's message goes out with the ``process`` requests' sends
(:meth:`~.batching.QueueBatcher.send`). What was two transactions of
about eight statements and a re-read of the job on the reference path
(:func:`~..reference.store_upload`), which answers duplicates, and takes
over when this statement's connection fails.
"""

from __future__ import annotations

import uuid
from typing import Any

from folio_api.domain.documents.fast import queueing
from folio_api.domain.documents.processing import ProcessOptions, process_message, queue_of
from folio_api.domain.documents.schemas import DocumentFields
from folio_api.domain.jobs.schemas import JobFields
from folio_api.resources import Resources
from folio_shared.db.models import Document
from folio_shared.jobs import outbox


async def store(
    resources: Resources, document: Document, *, process: bool, options: ProcessOptions
) -> tuple[DocumentFields, JobFields | None] | None:
    """Write ``document`` (and its job, when ``process``, run with ``options``) in one statement;
    the rows written, or ``None`` when the tenant holds these bytes already
    (nothing written). Raises what the statement raised: a refusal wrote
    nothing; a lost connection may have written both."""
    batcher = resources.batcher
    assert batcher is not None
    job: dict[str, Any] = {}
    if process:
        job_id = uuid.uuid4()
        message = process_message(document, job_id, options)
        priority = options.priority
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
    async with batcher.pool.acquire() as conn:
        return await queueing.store(conn, upload)
