"""History retention: finished jobs (and their events) and webhook
deliveries (and their attempts) older than their retention are deleted.

Three retentions, each in days, 0 meaning "kept forever":

- finished jobs (succeeded, failed, cancelled): ``FOLIO_JOBS_RETENTION_DAYS``
  (:mod:`folio_shared.jobs.purge`); a job's message and result go with its
  row, so the history a dashboard lists stays whole until then;
- dead jobs: ``FOLIO_JOBS_DEAD_RETENTION_DAYS``, longer by default, so a
  dead letter can still be inspected and re-driven;
- webhook deliveries delivered or given up: ``FOLIO_WEBHOOKS_DELIVERY_RETENTION_DAYS``,
  from their creation; a pending delivery is never deleted.

Rows go in batches of ``batch_size``, each its own transaction, so no run
holds locks on many rows or builds one huge transaction. Every row deleted
counts in ``folio_maintenance_rows_pruned_total`` (by table).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.models import WebhookDelivery
from folio_shared.jobs import purge
from folio_shared.maintenance.summary import Summary
from folio_shared.metrics import ROWS_PRUNED

#: Delivery states after which a delivery is never attempted again.
_DELIVERY_ENDED = ("succeeded", "failed")


def _cutoff(now: datetime, days: int) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None


def _old_deliveries(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(WebhookDelivery.status.in_(_DELIVERY_ENDED), WebhookDelivery.created_at < cutoff)


async def _purge_deliveries(session: AsyncSession, cutoff: datetime, batch_size: int) -> int:
    """Delete ended deliveries created before ``cutoff`` (their attempts go
    by cascade), ``batch_size`` per committed transaction."""
    deleted = 0
    while True:
        batch = (
            sa.select(WebhookDelivery.id)
            .where(_old_deliveries(cutoff))
            .limit(batch_size)
            .scalar_subquery()
        )
        result = await session.execute(
            sa.delete(WebhookDelivery).where(WebhookDelivery.id.in_(batch))
        )
        await session.commit()
        count = int(getattr(result, "rowcount", 0) or 0)
        deleted += count
        if count < batch_size:
            return deleted


async def purge_job_history(
    session: AsyncSession,
    *,
    retention_days: int,
    now: datetime,
    dead_retention_days: int = 0,
    delivery_retention_days: int = 0,
    dry_run: bool = False,
    batch_size: int = 1000,
) -> Summary:
    """Delete finished jobs (and, by cascade, their events) that finished
    more than ``retention_days`` before ``now`` (dead ones: more than
    ``dead_retention_days``), and ended webhook deliveries created more
    than ``delivery_retention_days`` before ``now``; a retention of 0 keeps
    those rows forever. Jobs still pending, queued or running and pending
    deliveries are never touched; a purged parent's remaining children are
    detached from it, never deleted with it. ``details`` counts the rows of
    each table (matched on a dry run, deleted otherwise)."""
    jobs_before = _cutoff(now, retention_days)
    dead_before = _cutoff(now, dead_retention_days)
    deliveries_before = _cutoff(now, delivery_retention_days)
    jobs = await purge.count_finished(session, before=jobs_before, dead_before=dead_before)
    deliveries = 0
    if deliveries_before is not None:
        query = sa.select(sa.func.count()).where(_old_deliveries(deliveries_before))
        deliveries = int(await session.scalar(query) or 0)
    matched = jobs + deliveries
    if dry_run:
        details = {"jobs": jobs, "webhook_deliveries": deliveries}
        return Summary("purge_job_history", True, matched, 0, details=details)
    jobs_deleted = await purge.purge_finished(
        session, before=jobs_before, dead_before=dead_before, batch_size=batch_size
    )
    ROWS_PRUNED.labels("jobs").inc(jobs_deleted)
    deliveries_deleted = 0
    if deliveries_before is not None:
        deliveries_deleted = await _purge_deliveries(session, deliveries_before, batch_size)
        ROWS_PRUNED.labels("webhook_deliveries").inc(deliveries_deleted)
    details = {"jobs": jobs_deleted, "webhook_deliveries": deliveries_deleted}
    return Summary(
        "purge_job_history", False, matched, jobs_deleted + deliveries_deleted, details=details
    )
