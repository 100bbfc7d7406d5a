"""Document actors: ``docs.process`` and its completion step ``docs.finalize``.

Thin wiring: the work is in :mod:`folio_worker_docs.pipeline`. Large
documents arrive on the ``documents-large`` queue (chosen by the API), which
a separate worker pool with more memory can consume alone
(``FOLIO_WORKER_QUEUES=documents-large``).
"""

from __future__ import annotations

from typing import Any

import dramatiq

from folio_shared.jobs import job_actor
from folio_shared.messages import FinalizeDocumentV1, ProcessDocumentV1, Queue, physical_queue_names
from folio_shared.settings import get_settings
from folio_worker_docs import pipeline

_limit_ms = get_settings().jobs.document_time_limit_ms

for _name in physical_queue_names(Queue.DOCUMENTS_LARGE):
    dramatiq.get_broker().declare_queue(_name)


@job_actor(ProcessDocumentV1, time_limit_ms=_limit_ms)
async def process_document(msg: ProcessDocumentV1) -> object:
    return await pipeline.process(msg)


@job_actor(FinalizeDocumentV1, time_limit_ms=_limit_ms)
async def finalize_document(msg: FinalizeDocumentV1) -> dict[str, Any]:
    return await pipeline.finalize(msg)
