"""Running a maintenance message: the same code for the worker's actors and
the ``folio maintenance`` CLI.

:func:`run` takes the message (its limits left at none fall back to the
settings or the task's own default) and the open clients in a
:class:`TaskContext`, and returns the task's :class:`Summary`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import dramatiq
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from folio_shared.errors import InvalidInput
from folio_shared.maintenance.job_history import purge_job_history
from folio_shared.maintenance.orphans import INPUT_NAME, find_orphans
from folio_shared.maintenance.outbox_relay import relay_outbox
from folio_shared.maintenance.reembedding import count_stale_documents
from folio_shared.maintenance.retention import apply_document_retention
from folio_shared.maintenance.stuck_jobs import reap_stuck_jobs
from folio_shared.maintenance.summary import Summary
from folio_shared.maintenance.uploads import expire_uploads
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
from folio_shared.settings import FolioSettings
from folio_shared.storage import Storage

#: Objects younger than this are never taken for orphans (seconds).
ORPHAN_MIN_AGE_S = 3600
#: The outbox relay leaves rows younger than this to their sender (ms).
RELAY_MIN_AGE_MS = 5_000


@dataclass
class TaskContext:
    """The clients a maintenance run uses (a worker's, or the CLI's own).

    ``reembed``: runs a ``reembed_chunks`` round with the embedding models
    (worker-docs gives it; default none, see
    :mod:`~folio_shared.maintenance.reembedding`)."""

    settings: FolioSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: Storage
    redis: aioredis.Redis
    broker: dramatiq.Broker
    reembed: Callable[[ReembedChunksV1], Awaitable[Summary]] | None = None


async def run(msg: MaintenanceMessage, ctx: TaskContext, *, now: datetime | None = None) -> Summary:
    """Run the task ``msg`` names; returns what it did (or would do)."""
    now = now or datetime.now(UTC)
    settings = ctx.settings
    batch = msg.batch_size
    if isinstance(msg, ExpireUploadsV1):
        async with ctx.sessions() as session:
            return await expire_uploads(
                session,
                ctx.storage,
                abandoned_after_s=msg.abandoned_after_s or settings.upload.abandoned_after_s,
                now=now,
                dry_run=msg.dry_run,
                batch_size=batch or 500,
            )
    if isinstance(msg, FindOrphansV1):
        async with ctx.sessions() as session:
            return await find_orphans(
                session,
                ctx.storage,
                min_age_s=ORPHAN_MIN_AGE_S if msg.min_age_s is None else msg.min_age_s,
                now=now,
                dry_run=msg.dry_run,
                batch_size=batch or 500,
                input_min_age_s=settings.jobs.input_retention_days * 86_400 or None,
                keep_inputs=frozenset(INPUT_NAME.findall(settings.scheduler.jobs)),
            )
    if isinstance(msg, PurgeJobHistoryV1):
        async with ctx.sessions() as session:
            return await purge_job_history(
                session,
                retention_days=msg.retention_days or settings.jobs.retention_days,
                dead_retention_days=settings.jobs.dead_retention_days,
                delivery_retention_days=settings.webhooks.delivery_retention_days,
                now=now,
                dry_run=msg.dry_run,
                batch_size=batch or 1000,
            )
    if isinstance(msg, ReapStuckJobsV1):
        grace_ms = settings.jobs.lost_after_ms if msg.grace_ms is None else msg.grace_ms
        async with ctx.engine.connect() as conn:
            return await reap_stuck_jobs(
                conn,
                ctx.redis,
                ctx.broker,
                lost_after_s=grace_ms / 1000,
                dry_run=msg.dry_run,
                batch_size=batch or 200,
            )
    if isinstance(msg, RelayOutboxV1):
        async with ctx.engine.connect() as conn:
            return await relay_outbox(
                conn,
                ctx.broker,
                min_age_ms=RELAY_MIN_AGE_MS if msg.min_age_ms is None else msg.min_age_ms,
                dry_run=msg.dry_run,
                batch_size=batch or 500,
            )
    if isinstance(msg, ApplyDocumentRetentionV1):
        async with ctx.sessions() as session:
            return await apply_document_retention(
                session,
                ctx.storage,
                now=now,
                tenant_id=uuid.UUID(msg.tenant_id) if msg.tenant_id else None,
                dry_run=msg.dry_run,
                batch_size=batch or 200,
            )
    if isinstance(msg, ReembedChunksV1):
        if ctx.reembed is not None:
            return await ctx.reembed(msg)
        if not msg.dry_run:
            raise InvalidInput(
                "reembed_chunks needs the embedding models: worker-docs runs it on the"
                " scheduler's tick, or run folio-worker-docs-reembed",
                task="reembed_chunks",
            )
        async with ctx.sessions() as session:
            stale = await count_stale_documents(
                session,
                settings.pipeline.embedding_model,
                uuid.UUID(msg.tenant_id) if msg.tenant_id else None,
            )
        return Summary(task="reembed_chunks", dry_run=True, matched=stale, changed=0)
    raise InvalidInput(f"{type(msg).__name__} is not a maintenance task")
