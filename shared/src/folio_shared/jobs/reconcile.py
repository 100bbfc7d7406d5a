"""The reconciler: PostgreSQL says what must run; Redis may have forgotten.

Dramatiq's Redis broker recovers a dead worker's messages only lazily
(probabilistic maintenance after a 60 s heartbeat timeout), can strand
delayed and retrying messages in a worker's memory after a Redis blip until
that worker restarts (dramatiq #527), and loses everything on a flush or a
failover. So, every few seconds, one worker of the cluster (a Redis lock):

1. takes over jobs whose lease expired (their worker died): the attempt is
   recorded as a ``crash``; the job is re-sent, or quarantined (``dead``,
   cause ``poison``) when its attempts are used up. One action per lease
   expiry: the lease is cleared as the job is re-sent (a completion step
   stays ``running`` without a lease, waiting for its message, as after
   its hand-over), so the next reconciler pass does not re-send it again;
2. re-sends ``queued`` jobs whose message is no longer anywhere in Redis
   (flush, failover), or whose delayed message is long overdue (stranded);
   puts back in its queue the message of a ``queued`` job that has long
   sat in a live worker's set of fetched messages (a fetch whose reply the
   worker lost when Redis restarted: Dramatiq gives such a message back
   only when that worker dies);
   a delayed job (``eta``) is looked at once it is due, so one whose
   message a flush lost runs at most one reconciler period after its time;
3. re-sends the completion step of a parent whose completion message was
   lost;
4. relays outbox rows that were never sent.

Re-sends are bounded (a batch per run) and harmless when the old message
still exists after all: the claim lets only one delivery run. Step 2 asks
Redis about the whole batch first, unlocked, and locks only the jobs it
acts on: in a backlog those rows are the ones the claims want next.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis.asyncio as aioredis
import sqlalchemy as sa
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncConnection

from folio_shared.jobs import batches, family, outbox, store
from folio_shared.jobs.pointers import (
    fetched_by_live_workers,
    message_present,
    messages_present,
    requeue_unreceived,
    run_dispatch,
)
from folio_shared.logging import get_logger
from folio_shared.resources import resources
from folio_shared.settings import FolioSettings

log = get_logger(__name__)


def lock_key(settings: FolioSettings) -> str:
    """One reconciler at a time per broker namespace."""
    return f"folio:{settings.broker.namespace}:reconciler:lock"


@dataclass
class Report:
    """What one reconciler run did."""

    crashed_requeued: int = 0
    crashed_dead: int = 0
    lost_resent: int = 0
    stranded_requeued: int = 0
    completions_resent: int = 0
    relayed: int = 0

    @property
    def total(self) -> int:
        return (
            self.crashed_requeued
            + self.crashed_dead
            + self.lost_resent
            + self.stranded_requeued
            + self.completions_resent
            + self.relayed
        )


def redis_maintenance(broker: dramatiq.Broker) -> None:
    """Run Dramatiq's own Redis maintenance on every queue, now.

    Dramatiq moves the unacked messages of a dead worker (no heartbeat for
    the broker's ``heartbeat_timeout``) back to their queues only by chance,
    on a random fraction of fetches. Messages a killed worker had prefetched
    but not started are ``queued`` jobs whose message still exists — in the
    dead worker's ack set — so the reconciler asks for that maintenance on
    every pass (a read-only ``qsize`` command with maintenance forced).
    """
    if not isinstance(broker, RedisBroker):
        return
    queues = set(broker.get_declared_queues()) | set(broker.get_declared_delay_queues())
    for queue in sorted(queues):
        run_dispatch(broker, "qsize", queue, broker.broker_id, maintenance=True)


_EXPIRED = sa.text(
    """
    SELECT id, attempts, max_retries, message, on_complete, completion_sent_at, parent_id,
      document_id, batch_id
    FROM jobs WHERE status = 'running' AND lease_expires_at < now()
    ORDER BY lease_expires_at LIMIT :batch FOR UPDATE SKIP LOCKED
    """
)

_REQUEUE_CRASHED = sa.text(
    """
    WITH t AS (
      UPDATE jobs SET status = CASE WHEN completion_sent_at IS NULL THEN 'queued' ELSE status END,
        lease_expires_at = NULL,
        worker = NULL, cause = 'crash', error_type = 'WorkerLost',
        error_message = 'the worker running this job stopped (lease expired)',
        sent_at = now(), message_id = CAST(:message_id AS text), updated_at = now()
      WHERE id = :id AND status = 'running' AND lease_expires_at < now() RETURNING id
    ), e AS (
      INSERT INTO job_events (job_id, kind, status, data)
      SELECT id, 'state', 'queued', '{"cause": "crash"}'::jsonb FROM t
    )
    SELECT id FROM t
    """
)

_QUARANTINE = sa.text(
    """
    WITH t AS (
      UPDATE jobs SET status = 'dead', cause = 'poison', error_type = 'WorkerLost',
        error_message = 'quarantined: every attempt ended with its worker stopping',
        finished_at = now(), lease_expires_at = NULL, worker = NULL, updated_at = now()
      WHERE id = :id RETURNING id
    ), e AS (
      INSERT INTO job_events (job_id, kind, status, data)
      SELECT id, 'state', 'dead', '{"cause": "poison"}'::jsonb FROM t
    )
    SELECT id FROM t
    """
)


async def _crashed(
    conn: AsyncConnection, broker: dramatiq.Broker, batch: int, report: Report
) -> list[tuple[uuid.UUID, dict[str, object]]]:
    completions: list[tuple[uuid.UUID, dict[str, object]]] = []
    for row in (await conn.execute(_EXPIRED, {"batch": batch})).all():
        continuation = row.completion_sent_at is not None
        if not continuation and row.attempts >= row.max_retries + 1:
            await conn.execute(_QUARANTINE, {"id": row.id})
            report.crashed_dead += 1
            if row.document_id and not row.parent_id:
                await store.fail_document(
                    conn, row.document_id, "WorkerLost: every attempt stopped its worker"
                )
            if row.parent_id:
                env = (await family.child_finished(conn, row.parent_id)).completion
                if env is not None:
                    completions.append((row.parent_id, env))
            if row.batch_id:
                # its batch's completion job, if this was the last member,
                # goes out with the outbox relay
                await batches.member_finished(conn, row.batch_id, "dead")
            continue
        env = row.on_complete if continuation else row.message
        message_id = outbox.resend(broker, row.id, env, continuation=continuation)
        await conn.execute(_REQUEUE_CRASHED, {"id": row.id, "message_id": message_id})
        report.crashed_requeued += 1
    return completions


_QUEUED_COLUMNS = """
    SELECT id, message, message_id, queue_name,
      (eta IS NOT NULL
       AND eta < now() - make_interval(secs => CAST(:stranded_s AS double precision))) AS overdue,
      sent_at < now() - make_interval(secs => CAST(:stranded_s AS double precision)) AS stalled
    FROM jobs
"""
_QUEUED_STALE = sa.text(
    _QUEUED_COLUMNS
    + """
    WHERE status = 'queued'
      AND sent_at < now() - make_interval(secs => CAST(:lost_s AS double precision))
      AND coalesce(eta, sent_at) < now()
    ORDER BY coalesce(eta, sent_at) LIMIT :batch
    """
)
#: The queued jobs a pass acts on, locked, re-checked as still queued.
_QUEUED_LOCK = sa.text(
    _QUEUED_COLUMNS
    + " WHERE id = ANY(:ids) AND status = 'queued' ORDER BY id FOR UPDATE SKIP LOCKED"
)

_WAITING_STALE = sa.text(
    """
    SELECT id, on_complete, message_id FROM jobs
    WHERE status = 'running' AND lease_expires_at IS NULL AND completion_sent_at IS NOT NULL
      AND updated_at < now() - make_interval(secs => CAST(:lost_s AS double precision))
    LIMIT :batch FOR UPDATE SKIP LOCKED
    """
)


async def _needing_action(
    client: aioredis.Redis, broker: dramatiq.Broker, rows: Sequence[Any]
) -> list[Any]:
    """The queued ``rows`` :func:`_lost` would act on as Redis stands now:
    a message missing, delayed past its time, or stalled in a live worker's
    set of fetched messages."""
    jobs = [(row.queue_name, row.id) for row in rows]
    present = await messages_present(client, broker, jobs)
    stalled = [
        i for i, (found, delayed) in enumerate(present) if found and not delayed and rows[i].stalled
    ]
    held = await fetched_by_live_workers(client, broker, [jobs[i] for i in stalled])
    act = {i for i, holders in zip(stalled, held, strict=True) if holders}
    act.update(
        i
        for i, (found, delayed) in enumerate(present)
        if not found or (delayed and rows[i].overdue)
    )
    return [rows[i] for i in sorted(act)]


async def _lost(
    conn: AsyncConnection,
    client: aioredis.Redis,
    broker: dramatiq.Broker,
    *,
    lost_s: float,
    stranded_s: float,
    batch: int,
    report: Report,
) -> None:
    if not isinstance(broker, RedisBroker):
        return
    params = {"lost_s": lost_s, "stranded_s": stranded_s, "batch": batch}
    # The oldest queued jobs are read unlocked and checked against Redis in
    # a few pipelined round trips; only those that need a re-send or a
    # requeue are then locked (and checked again, one by one). In a backlog
    # they are the very jobs the workers' claim rounds want next: locking
    # all of them across two Redis round trips each made those claims wait.
    due = await _needing_action(client, broker, (await conn.execute(_QUEUED_STALE, params)).all())
    rows: Sequence[Any] = []
    if due:
        ids = [row.id for row in due]
        rows = (await conn.execute(_QUEUED_LOCK, {"ids": ids, "stranded_s": stranded_s})).all()
    for row in rows:
        present, only_delayed = await message_present(client, broker, row.queue_name, row.id)
        if present and not only_delayed and row.stalled:
            if await requeue_unreceived(client, broker, row.queue_name, row.id):
                await conn.execute(
                    sa.text("UPDATE jobs SET sent_at = now(), updated_at = now() WHERE id = :id"),
                    {"id": row.id},
                )
                report.stranded_requeued += 1
            continue
        if present and not (only_delayed and row.overdue):
            continue
        message_id = outbox.resend(broker, row.id, row.message, continuation=False)
        await conn.execute(
            sa.text(
                "UPDATE jobs SET message_id = :mid, sent_at = now(), eta = NULL, updated_at = now()"
                " WHERE id = :id"
            ),
            {"mid": message_id, "id": row.id},
        )
        report.lost_resent += 1
    waiting = (await conn.execute(_WAITING_STALE, {"lost_s": lost_s, "batch": batch})).all()
    for row in waiting:
        queue = row.on_complete["queue"]
        present, _ = await message_present(client, broker, queue, row.id)
        if present:
            continue
        message_id = outbox.resend(broker, row.id, row.on_complete, continuation=True)
        await conn.execute(
            sa.text("UPDATE jobs SET message_id = :mid, updated_at = now() WHERE id = :id"),
            {"mid": message_id, "id": row.id},
        )
        report.completions_resent += 1


async def reconcile(
    conn: AsyncConnection,
    client: aioredis.Redis,
    broker: dramatiq.Broker,
    *,
    lost_after_s: float = 15.0,
    stranded_after_s: float = 120.0,
    batch: int = 200,
) -> Report:
    """One reconciler pass (see the module docstring); idempotent."""
    report = Report()
    await asyncio.to_thread(redis_maintenance, broker)
    completions = await _crashed(conn, broker, batch, report)
    await conn.commit()
    for parent_id, env in completions:
        outbox.resend(broker, parent_id, dict(env), continuation=True)
    await _lost(
        conn,
        client,
        broker,
        lost_s=lost_after_s,
        stranded_s=stranded_after_s,
        batch=batch,
        report=report,
    )
    await conn.commit()
    report.relayed = await outbox.relay(conn, broker, min_age_ms=int(lost_after_s * 1000) // 3)
    if report.total:
        log.info("reconciler acted", **report.__dict__)
    return report


async def run_if_leader(broker: dramatiq.Broker, settings: FolioSettings) -> Report | None:
    """Run a pass unless another process holds the reconciler lock."""
    res = resources()
    token = uuid.uuid4().hex
    lock_ms = max(30_000, settings.jobs.reconcile_interval_ms * 3)
    key = lock_key(settings)
    if not await res.redis.set(key, token, nx=True, px=lock_ms):
        return None
    try:
        async with res.engine.connect() as conn:
            report = await reconcile(
                conn,
                res.redis,
                broker,
                lost_after_s=settings.jobs.lost_after_ms / 1000,
                stranded_after_s=settings.jobs.stranded_after_ms / 1000,
            )
    finally:
        # Release only our own lock.
        if (await res.redis.get(key)) in (token, token.encode()):
            await res.redis.delete(key)
    return report
