"""The stuck-job reaper: the job engine's reconciler, run as a maintenance task.

Workers already run :func:`folio_shared.jobs.reconcile.reconcile` every few
seconds (one at a time, under a Redis lock). The scheduled run is the safety
net for a cluster where no worker is alive to do it, and the way an operator
runs it by hand (``folio maintenance reap-stuck-jobs``). It takes over jobs
``running`` whose lease expired (their worker died): each is re-sent, or
quarantined (``dead``, cause ``poison``) when its attempts are used up; it
re-sends ``queued`` jobs whose message Redis lost and relays unsent outbox
rows. Running it next to the workers' own reconciler is safe: rows are taken
with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import dataclasses

import dramatiq
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from folio_shared.jobs import reconcile
from folio_shared.jobs.pointers import message_present
from folio_shared.maintenance.summary import Summary

_EXPIRED_COUNTS = sa.text(
    """
    SELECT
      count(*) FILTER (WHERE completion_sent_at IS NOT NULL OR attempts < max_retries + 1)
        AS requeue,
      count(*) FILTER (WHERE completion_sent_at IS NULL AND attempts >= max_retries + 1) AS dead
    FROM jobs WHERE status = 'running' AND lease_expires_at < now()
    """
)

_QUEUED_STALE = sa.text(
    """
    SELECT id, message_id, queue_name FROM jobs
    WHERE status = 'queued' AND sent_at IS NOT NULL AND eta IS NULL
      AND sent_at < now() - make_interval(secs => CAST(:lost_s AS double precision))
    ORDER BY sent_at LIMIT :batch
    """
)

_UNSENT = sa.text(
    """
    SELECT count(*) FROM jobs WHERE status = 'pending' AND sent_at IS NULL
      AND created_at < now() - make_interval(secs => CAST(:age_s AS double precision))
    """
)


async def _preview(
    conn: AsyncConnection,
    client: aioredis.Redis,
    broker: dramatiq.Broker,
    *,
    lost_after_s: float,
    batch: int,
) -> reconcile.Report:
    """What a reconciler pass would do, changing nothing."""
    report = reconcile.Report()
    counts = (await conn.execute(_EXPIRED_COUNTS)).one()
    report.crashed_requeued, report.crashed_dead = int(counts.requeue), int(counts.dead)
    rows = (await conn.execute(_QUEUED_STALE, {"lost_s": lost_after_s, "batch": batch})).all()
    for row in rows:
        present, _ = await message_present(client, broker, row.queue_name, row.id)
        report.lost_resent += 0 if present else 1
    report.relayed = int(
        await conn.scalar(_UNSENT, {"age_s": lost_after_s / 3}) or 0,
    )
    await conn.rollback()
    return report


async def reap_stuck_jobs(
    conn: AsyncConnection,
    client: aioredis.Redis,
    broker: dramatiq.Broker,
    *,
    lost_after_s: float,
    dry_run: bool = False,
    batch_size: int = 200,
) -> Summary:
    """One reconciler pass (see the module docstring); ``details`` is its
    :class:`~folio_shared.jobs.reconcile.Report`. ``lost_after_s``: how long
    a queued job's message may be missing from Redis before it is re-sent."""
    if dry_run:
        report = await _preview(conn, client, broker, lost_after_s=lost_after_s, batch=batch_size)
        return Summary("reap_stuck_jobs", True, report.total, 0, details=dataclasses.asdict(report))
    report = await reconcile.reconcile(
        conn, client, broker, lost_after_s=lost_after_s, batch=batch_size
    )
    return Summary(
        "reap_stuck_jobs", False, report.total, report.total, details=dataclasses.asdict(report)
    )
