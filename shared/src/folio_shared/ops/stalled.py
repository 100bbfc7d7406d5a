"""The stalled-job watchdog, and the outbox backlog.

A job is *stalled* when it is ``running`` under a live lease (a worker holds
it and renews the lease, so it is not a crash the reconciler would see) but
its row has not moved — no ``progress()`` call, no state change — for longer
than its stall threshold: a hung parser, a deadlock, an endless loop.
Parents waiting for their children hold no lease and are never stalled.

The threshold is ``stall_after_ms`` (default 10 minutes); an actor that
reports progress less often than that should report more often. Stalled
jobs are listed by the ops API and CLI, counted in the
``folio_jobs_stalled`` gauge, and make ``/readyz`` report *degraded*.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

#: Default stall threshold, in milliseconds.
DEFAULT_STALL_AFTER_MS = 10 * 60 * 1000

_WHERE = (
    "status = 'running' AND lease_expires_at IS NOT NULL"
    " AND updated_at < now() - make_interval(secs => CAST(:stall_s AS double precision))"
)


@dataclass(frozen=True)
class StalledJob:
    """A running job whose progress has not moved for ``idle_s`` seconds."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    document_id: uuid.UUID | None
    actor: str
    queue: str
    worker: str | None
    stage: str | None
    progress: int
    attempts: int
    started_at: datetime | None
    updated_at: datetime
    idle_s: float


async def find_stalled(
    engine: AsyncEngine, *, stall_after_ms: int = DEFAULT_STALL_AFTER_MS, limit: int = 100
) -> list[StalledJob]:
    """Stalled jobs, the longest idle first."""
    columns = (
        "id, tenant_id, document_id, actor_name, queue_name, worker, stage, progress, attempts,"
        " started_at, updated_at, extract(epoch FROM now() - updated_at) AS idle_s"
    )
    sql = f"SELECT {columns} FROM jobs WHERE {_WHERE} ORDER BY updated_at LIMIT :limit"  # noqa: S608
    query = sa.text(sql)
    async with engine.connect() as conn:
        rows = (await conn.execute(query, {"stall_s": stall_after_ms / 1000, "limit": limit})).all()
    return [
        StalledJob(
            id=r.id,
            tenant_id=r.tenant_id,
            document_id=r.document_id,
            actor=r.actor_name,
            queue=r.queue_name,
            worker=r.worker,
            stage=r.stage,
            progress=r.progress,
            attempts=r.attempts,
            started_at=r.started_at,
            updated_at=r.updated_at,
            idle_s=float(r.idle_s),
        )
        for r in rows
    ]


async def count_stalled(
    engine: AsyncEngine, *, stall_after_ms: int = DEFAULT_STALL_AFTER_MS
) -> int:
    """How many jobs are stalled now (what ``/readyz`` checks)."""
    query = sa.text(f"SELECT count(*) FROM jobs WHERE {_WHERE}")  # noqa: S608 - literals
    async with engine.connect() as conn:
        return int(await conn.scalar(query, {"stall_s": stall_after_ms / 1000}) or 0)


async def outbox_backlog(engine: AsyncEngine) -> int:
    """Jobs committed but not yet accepted by the broker (``pending``)."""
    async with engine.connect() as conn:
        value = await conn.scalar(
            sa.text("SELECT count(*) FROM jobs WHERE status = 'pending' AND sent_at IS NULL")
        )
    return int(value or 0)
