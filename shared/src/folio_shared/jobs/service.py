"""The job engine's Python API for the other services and the CLI.

:class:`Jobs` bundles the three things job operations need (the database
engine, the broker, Redis) and offers ``enqueue``, ``get``, ``cancel``,
``retry``, ``events`` and ``redrive``. Everything that takes a
``tenant_id`` is tenant-scoped: another tenant's job is
:class:`~folio_shared.errors.JobNotFound`, never a hint that it exists.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import dramatiq
import redis.asyncio as aioredis
import sqlalchemy as sa
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import ACTIVE_TOP_LEVEL, Document, Job
from folio_shared.errors import JobNotFound, JobStateConflict
from folio_shared.jobs import batches, events, family, outbox
from folio_shared.jobs.send import AsyncSender
from folio_shared.logging import get_logger
from folio_shared.messages import Message, Priority, check_redrive_options

log = get_logger(__name__)

_CANCEL = sa.text(
    """
    WITH RECURSIVE tree AS (
      SELECT id FROM jobs WHERE id = :id
      UNION ALL SELECT j.id FROM jobs j JOIN tree t ON j.parent_id = t.id
    ), l AS (
      -- The family's rows locked in id order, as the worker's claim and
      -- outcome rounds lock theirs: locked in the UPDATE's own order, a
      -- cancel and a round holding two of the family's rows could each
      -- wait for the other (a deadlock, seen under load).
      SELECT id FROM jobs
      WHERE id IN (SELECT id FROM tree) AND status IN ('pending', 'queued', 'running')
      ORDER BY id FOR UPDATE
    ), u AS (
      -- One UPDATE decides per row, on the row as it is once locked: a job
      -- that ends its hand-over to its children (lease cleared) while this
      -- runs is cancelled at once. Two UPDATEs (one for jobs without a
      -- lease, one for jobs with) each saw the row before the hand-over
      -- committed, and the second no longer matched after it: the parent
      -- was neither cancelled nor asked to cancel, and waited forever for
      -- children this statement had cancelled.
      UPDATE jobs SET
        status = CASE WHEN status IN ('pending', 'queued') OR lease_expires_at IS NULL
                      THEN 'cancelled' ELSE status END,
        cause = CASE WHEN status IN ('pending', 'queued') OR lease_expires_at IS NULL
                     THEN 'cancelled' ELSE cause END,
        finished_at = CASE WHEN status IN ('pending', 'queued') OR lease_expires_at IS NULL
                           THEN now() ELSE finished_at END,
        error_type = CASE WHEN status IN ('pending', 'queued') OR lease_expires_at IS NULL
                          THEN 'JobCancelled' ELSE error_type END,
        error_message = CASE WHEN status IN ('pending', 'queued') OR lease_expires_at IS NULL
                             THEN 'cancelled on request' ELSE error_message END,
        lease_expires_at = CASE WHEN status IN ('pending', 'queued') OR lease_expires_at IS NULL
                                THEN NULL ELSE lease_expires_at END,
        cancel_requested_at = now(), updated_at = now()
      WHERE id IN (SELECT id FROM l) AND status IN ('pending', 'queued', 'running')
      RETURNING id, status = 'cancelled' AS now_cancelled
    ), e AS (
      INSERT INTO job_events (job_id, kind, status, data)
      SELECT id, 'state', 'cancelled', '{}'::jsonb FROM u WHERE now_cancelled
    )
    SELECT (SELECT coalesce(array_agg(id), '{}') FROM u WHERE now_cancelled) AS cancelled,
           (SELECT coalesce(array_agg(id), '{}') FROM u WHERE NOT now_cancelled) AS requested
    """
)

_RESET = sa.text(
    """
    WITH o AS (
      SELECT id, status AS was, batch_id FROM jobs WHERE id = :id FOR UPDATE
    ), t AS (
      UPDATE jobs SET status = 'pending', attempts = 0, cause = NULL, error_type = NULL,
        error_message = NULL, finished_at = NULL, cancel_requested_at = NULL,
        lease_expires_at = NULL, worker = NULL, sent_at = NULL, eta = NULL, progress = 0,
        stage = NULL, result = NULL, children_done = 0, children_total = 0, on_complete = NULL,
        completion_sent_at = NULL, updated_at = now(),
        message = CASE WHEN CAST(:options AS jsonb) IS NULL THEN message
          ELSE jsonb_set(jobs.message, '{payload}', jobs.message->'payload'
            || CAST(:options AS jsonb)) END
      FROM o WHERE jobs.id = o.id AND jobs.status IN ('failed', 'dead', 'cancelled')
      RETURNING jobs.id, o.was, o.batch_id
    ), e AS (
      INSERT INTO job_events (job_id, kind, status, data)
      SELECT id, 'state', 'pending', jsonb_build_object('retried', true) FROM t
    )
    SELECT id, was, batch_id FROM t
    """
)


async def _reset(conn: AsyncConnection, job_id: uuid.UUID, options: str | None) -> uuid.UUID | None:
    """Put a final job back to ``pending`` (:data:`_RESET`); a batch member
    is counted out of its batch in the same transaction. ``None``: the job
    was not in a final state."""
    row = (await conn.execute(_RESET, {"id": job_id, "options": options})).first()
    if row is None:
        return None
    if row.batch_id is not None:
        await batches.member_reopened(conn, row.batch_id, str(row.was))
    reset: uuid.UUID = row.id
    return reset


class Jobs:
    """Job operations over one engine, broker and Redis client (the broker's
    Redis, for a :class:`RedisBroker`).

    Jobs are sent with ``sender`` (default: an :class:`AsyncSender` of its
    own), never with the broker's blocking ``enqueue``: these operations run
    on event loops that serve other requests.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        broker: dramatiq.Broker,
        redis: aioredis.Redis,
        *,
        sender: AsyncSender | None = None,
    ) -> None:
        self.engine = engine
        self.broker = broker
        self.redis = redis
        self.sender = sender or AsyncSender(broker, redis)
        self.sessions = create_session_factory(engine)

    async def enqueue(
        self,
        msg: Message,
        *,
        tenant_id: uuid.UUID | None = None,
        document_id: uuid.UUID | None = None,
        priority: Priority | None = None,
        max_retries: int = 3,
    ) -> Job:
        """Create the job and send it (or leave it to the relay)."""
        async with self.sessions() as session:
            job = await outbox.enqueue(
                session,
                msg,
                tenant_id=tenant_id,
                document_id=document_id,
                priority=priority,
                max_retries=max_retries,
            )
            await session.commit()
            ids = outbox.pending_ids(session)
        await self.dispatch(ids)
        return job

    async def dispatch(self, job_ids: list[uuid.UUID]) -> int:
        """Send the committed jobs ``job_ids`` (see :func:`outbox.dispatch`)."""
        async with self.engine.connect() as conn:
            return await outbox.dispatch(conn, self.broker, job_ids, sender=self.sender)

    async def get(self, job_id: uuid.UUID, *, tenant_id: uuid.UUID | None = None) -> Job:
        async with self.sessions() as session:
            job = await session.get(Job, job_id, populate_existing=True)
        if job is None or (tenant_id is not None and job.tenant_id != tenant_id):
            raise JobNotFound(f"no job {job_id}", job_id=str(job_id))
        return job

    async def cancel(self, job_id: uuid.UUID, *, tenant_id: uuid.UUID | None = None) -> Job:
        """Cancel a job and its children: queued ones at once (they never
        run), running ones at their next ``progress()`` call."""
        job = await self.get(job_id, tenant_id=tenant_id)
        if job.status in ("succeeded", "failed", "dead", "cancelled"):
            raise JobStateConflict(
                f"job {job_id} is {job.status}", job_id=str(job_id), status=str(job.status)
            )
        completion = None
        async with self.engine.connect() as conn:
            row = (await conn.execute(_CANCEL, {"id": job_id})).one()
            if job.parent_id and job_id in row.cancelled:
                completion = (await family.child_finished(conn, job.parent_id)).completion
            batch_completions = await batches.count_finished(conn, list(row.cancelled))
            await conn.commit()
        if completion is not None and job.parent_id:
            outbox.resend(self.broker, job.parent_id, completion, continuation=True)
        await self.dispatch(batch_completions)
        for cancelled in row.cancelled:
            await events.publish(self.redis, cancelled, "state", {"status": "cancelled"})
        return await self.get(job_id)

    async def retry(
        self,
        job_id: uuid.UUID,
        *,
        tenant_id: uuid.UUID | None = None,
        options: dict[str, Any] | None = None,
    ) -> Job:
        """Run a ``failed``, ``dead`` or ``cancelled`` job again from the
        start (attempts reset; its old children are removed). ``options``
        overrides payload fields (for example ``{"force_ocr": true}``): only
        those its message type allows on re-drive (``redrive_options``;
        never ids, tenant or storage key), else
        :class:`~folio_shared.errors.RedriveOptionRefused`."""
        job = await self.get(job_id, tenant_id=tenant_id)
        if options:
            check_redrive_options((job.message or {}).get("payload") or {}, options)
        document_job = job.document_id is not None and job.parent_id is None
        async with self.engine.connect() as conn:
            if document_job:
                # One active top-level job per document: the document row is
                # the lock that POST .../process takes too.
                await conn.execute(
                    sa.select(Document.id).where(Document.id == job.document_id).with_for_update()
                )
                other = await conn.scalar(
                    sa.select(Job.id)
                    .where(
                        Job.document_id == job.document_id,
                        Job.id != job_id,
                        sa.text(ACTIVE_TOP_LEVEL),
                    )
                    .limit(1)
                )
                if other is not None:
                    await conn.rollback()
                    raise JobStateConflict(
                        f"document {job.document_id} is already being processed by job {other}",
                        job_id=str(job_id),
                        active_job_id=str(other),
                    )
            reset = await _reset(conn, job_id, json.dumps(options) if options else None)
            if reset is None:
                await conn.rollback()
                raise JobStateConflict(
                    f"job {job_id} is {job.status}; "
                    "only failed, dead or cancelled jobs can be retried",
                    job_id=str(job_id),
                    status=str(job.status),
                )
            # only now: a job that cannot be retried keeps its children
            await conn.execute(sa.delete(Job).where(Job.parent_id == job_id))
            if document_job:
                await conn.execute(
                    sa.update(Document)
                    .where(Document.id == job.document_id, Document.status != "deleted")
                    .values(status="queued", error=None, updated_at=sa.func.now())
                )
            await conn.commit()
        await events.start_run(self.redis, job_id)
        await self.dispatch([job_id])
        return await self.get(job_id)

    async def events(
        self, job_id: uuid.UUID, *, after: str | None = None, block_ms: int | None = None
    ) -> list[events.JobEvent]:
        return await events.read(self.redis, job_id, after=after, block_ms=block_ms)

    async def redrive(self, queue: str, *, message_ids: list[str] | None = None) -> int:
        """Re-drive dead-lettered messages of a physical queue (all, or
        ``message_ids``): each one's job is reset and sent again; a message
        whose job already ran again (retried by hand) is dropped, so nothing
        runs twice. Returns how many jobs were re-sent."""
        if not isinstance(self.broker, RedisBroker):
            raise JobStateConflict("re-drive reads Redis dead-letter queues", queue=queue)
        ns = self.broker.namespace
        xq, xq_msgs = f"{ns}:{queue}.XQ", f"{ns}:{queue}.XQ.msgs"
        ids = message_ids or [
            m.decode() if isinstance(m, bytes) else str(m)
            for m in await self.redis.zrange(xq, 0, -1)
        ]
        resent = 0
        for message_id in ids:
            data = await self.redis.hget(xq_msgs, message_id)
            if data is None:
                continue
            message = dramatiq.Message.decode(data if isinstance(data, bytes) else data.encode())
            job_id = message.options.get("job_id")
            if job_id:
                try:
                    async with self.engine.connect() as conn:
                        reset = await _reset(conn, uuid.UUID(job_id), None)
                        await conn.commit()
                except IntegrityError:  # uq_jobs_active_top_level
                    # its document is being processed by another job: the
                    # dead letter stays, for a re-drive once that one is done
                    log.warning("re-drive skipped: document already in process", job_id=job_id)
                    continue
                if reset is not None:
                    await events.start_run(self.redis, job_id)
                    await self.dispatch([uuid.UUID(job_id)])
                    resent += 1
            else:
                await self.sender.send(message.copy(options={"retries": 0}))
                resent += 1
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(xq, message_id)
                pipe.hdel(xq_msgs, message_id)
                await pipe.execute()
        return resent
