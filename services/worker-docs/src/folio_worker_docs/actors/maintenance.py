"""Maintenance actors: run the task a scheduler tick (or an operator) sent.

Each is a job actor: a run is a job like any other (visible, retried with
backoff when it fails, dead-lettered when its attempts are used up, never
dropped), and its :class:`~folio_shared.maintenance.Summary` is the job's
result. The work lives in :mod:`folio_shared.maintenance`, the same code
``folio maintenance <task>`` runs inline, except ``reembed_chunks``'s,
which needs the embedding models and lives here
(:func:`folio_worker_docs.reembed.maintenance_round`, then a round of the
tenants' vocabularies: :func:`folio_worker_docs.vocabulary.collect`).

This worker never installs periodiq's middleware, so a maintenance message
that waited in a backlog or is being retried still runs, whatever its age.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

import dramatiq

from folio_shared import maintenance
from folio_shared.jobs import current_job, job_actor
from folio_shared.logging import get_logger
from folio_shared.messages import (
    ApplyDocumentRetentionV1,
    ExpireUploadsV1,
    FindOrphansV1,
    MaintenanceMessage,
    PurgeJobHistoryV1,
    ReapStuckJobsV1,
    ReembedChunksV1,
    RelayOutboxV1,
)
from folio_shared.resources import resources

log = get_logger(__name__)

#: Per attempt, for tasks that walk tables or the whole store.
LONG_TIME_LIMIT_MS = 60 * 60_000
#: Per attempt, for the every-minute tasks.
SHORT_TIME_LIMIT_MS = 5 * 60_000


async def _reembed(sessions: Any, msg: ReembedChunksV1) -> maintenance.Summary:
    # the models' modules only where they are needed (a worker of the
    # maintenance queue alone never loads them otherwise)
    import dataclasses

    from folio_worker_docs.embedders import deployment_embedders
    from folio_worker_docs.reembed import maintenance_round
    from folio_worker_docs.vocabulary import collect

    models = deployment_embedders()
    summary = await maintenance_round(msg, sessions, models)
    if msg.dry_run:
        return summary
    # then the tenants' vocabularies (keyword search's added words): a
    # bounded round of the documents whose words have no vectors yet
    tenant_id = uuid.UUID(msg.tenant_id) if msg.tenant_id else None
    words = await collect(sessions, models, tenant_id=tenant_id)
    details = {
        **summary.details,
        "vocabulary_documents": words.documents,
        "vocabulary_words": words.words,
        "vocabulary_remaining_documents": words.remaining,
        "vocabulary_swept_words": words.swept,
    }
    changed = summary.changed + words.words + words.swept
    return dataclasses.replace(summary, changed=changed, details=details)


async def _run(msg: MaintenanceMessage) -> dict[str, Any]:
    res = resources()
    ctx = maintenance.TaskContext(
        settings=res.settings,
        engine=res.engine,
        sessions=res.sessions,
        storage=res.storage,
        redis=res.redis,
        broker=dramatiq.get_broker(),
        reembed=functools.partial(_reembed, res.sessions),
    )
    summary = await maintenance.run(msg, ctx)
    log.info(
        "maintenance run",
        **summary.as_dict(),
        tick=msg.tick,
        job_id=str(current_job().job_id),
    )
    return summary.as_dict()


@job_actor(ExpireUploadsV1, time_limit_ms=LONG_TIME_LIMIT_MS)
async def expire_uploads(msg: ExpireUploadsV1) -> dict[str, Any]:
    return await _run(msg)


@job_actor(FindOrphansV1, time_limit_ms=LONG_TIME_LIMIT_MS)
async def find_orphans(msg: FindOrphansV1) -> dict[str, Any]:
    return await _run(msg)


@job_actor(PurgeJobHistoryV1, time_limit_ms=LONG_TIME_LIMIT_MS)
async def purge_job_history(msg: PurgeJobHistoryV1) -> dict[str, Any]:
    return await _run(msg)


@job_actor(ReapStuckJobsV1, time_limit_ms=SHORT_TIME_LIMIT_MS)
async def reap_stuck_jobs(msg: ReapStuckJobsV1) -> dict[str, Any]:
    return await _run(msg)


@job_actor(RelayOutboxV1, time_limit_ms=SHORT_TIME_LIMIT_MS)
async def relay_outbox(msg: RelayOutboxV1) -> dict[str, Any]:
    return await _run(msg)


@job_actor(ApplyDocumentRetentionV1, time_limit_ms=LONG_TIME_LIMIT_MS)
async def apply_document_retention(msg: ApplyDocumentRetentionV1) -> dict[str, Any]:
    return await _run(msg)


@job_actor(ReembedChunksV1, time_limit_ms=LONG_TIME_LIMIT_MS)
async def reembed_chunks(msg: ReembedChunksV1) -> dict[str, Any]:
    return await _run(msg)
