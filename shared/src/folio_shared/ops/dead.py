"""The dead-letter workbench: find dead jobs, see why, run them again, or purge.

PostgreSQL is the source of truth: a job is dead when its row says
``dead`` (retries exhausted, quarantined, undecodable). Its Dramatiq message
also sits in the Redis dead-letter queue (``<queue>.XQ``); re-driving or
purging a job removes that copy too, so queue stats stay honest.

- :func:`list_dead` filters by queue (logical or physical), actor, error
  type, tenant and time of death;
- :func:`inspect_job` shows a job's payload and every attempt with its
  outcome, error and traceback (any job, not only dead ones);
- :func:`redrive` runs dead jobs again from the start
  (:meth:`folio_shared.jobs.Jobs.retry`), optionally with changed payload
  options (``{"force_ocr": true}``), each exactly once;
- :func:`purge` deletes dead jobs (and their history).

Every re-drive and purge is written to the audit log: who, when, which job,
which filter and options.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import dramatiq
import sqlalchemy as sa
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.models import Job, JobEvent
from folio_shared.errors import JobNotFound, JobStateConflict
from folio_shared.jobs import Jobs
from folio_shared.jobs.attempt_errors import ERROR_EVENT
from folio_shared.jobs.purge import purge_dead
from folio_shared.logging import get_logger
from folio_shared.messages import check_redrive_options
from folio_shared.ops import audit

log = get_logger(__name__)


@dataclass(frozen=True)
class DeadFilter:
    """Which dead jobs: every field narrows (``None``: any). ``queue`` is a
    logical queue (all its priorities) or a physical one; ``since`` /
    ``until`` bound the time of death; ``limit`` caps the result."""

    queue: str | None = None
    actor: str | None = None
    error_type: str | None = None
    tenant_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100

    def describe(self) -> dict[str, Any]:
        """The filter as JSON-able values (for the audit log)."""
        return {k: (str(v) if v is not None else None) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class JobSummary:
    """A job as the workbench lists it."""

    id: uuid.UUID
    status: str
    tenant_id: uuid.UUID | None
    document_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    actor: str
    queue: str
    attempts: int
    max_retries: int
    cause: str | None
    error_type: str | None
    error_message: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Attempt:
    """One attempt of a job: how it ended, why, and its traceback.
    ``run``: 0 for the first run, +1 after each manual retry or re-drive."""

    attempt: int
    run: int
    status: str | None
    at: datetime | None
    cause: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None


@dataclass(frozen=True)
class JobDetail:
    """A job, its message (``payload``, ``options``) and its attempts."""

    job: JobSummary
    payload: dict[str, Any]
    options: dict[str, Any]
    stage: str | None
    progress: int
    result: dict[str, Any] | None
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class RedriveReport:
    """What a re-drive did: ``redriven`` jobs went back to the queue;
    ``skipped`` ones could not (id → reason)."""

    redriven: list[uuid.UUID]
    skipped: dict[str, str]


def _summary(job: Any) -> JobSummary:
    return JobSummary(
        id=job.id,
        status=str(job.status),
        tenant_id=job.tenant_id,
        document_id=job.document_id,
        parent_id=job.parent_id,
        actor=job.actor_name,
        queue=job.queue_name,
        attempts=job.attempts,
        max_retries=job.max_retries,
        cause=str(job.cause) if job.cause else None,
        error_type=job.error_type,
        error_message=job.error_message,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def _where(flt: DeadFilter) -> list[Any]:
    cond: list[Any] = [Job.status == "dead"]
    if flt.queue:
        cond.append(
            sa.or_(
                Job.queue_name == flt.queue,
                Job.queue_name.startswith(f"{flt.queue}.", autoescape=True),
            )
        )
    if flt.actor:
        cond.append(Job.actor_name == flt.actor)
    if flt.error_type:
        cond.append(Job.error_type == flt.error_type)
    if flt.tenant_id:
        cond.append(Job.tenant_id == flt.tenant_id)
    if flt.since:
        cond.append(Job.finished_at >= flt.since)
    if flt.until:
        cond.append(Job.finished_at < flt.until)
    return cond


async def list_dead(engine: AsyncEngine, flt: DeadFilter | None = None) -> list[JobSummary]:
    """Dead jobs matching ``flt``, the most recent deaths first."""
    flt = flt or DeadFilter()
    query = (
        sa.select(Job.__table__)
        .where(*_where(flt))
        .order_by(Job.finished_at.desc().nulls_last(), Job.id)
        .limit(flt.limit)
    )
    async with engine.connect() as conn:
        return [_summary(r) for r in (await conn.execute(query)).all()]


async def inspect_job(engine: AsyncEngine, job_id: uuid.UUID) -> JobDetail:
    """A job's message and every attempt (raises :class:`JobNotFound`)."""
    async with engine.connect() as conn:
        job = (await conn.execute(sa.select(Job.__table__).where(Job.id == job_id))).first()
        if job is None:
            raise JobNotFound(f"no job {job_id}", job_id=str(job_id))
        events = (
            await conn.execute(
                sa.select(JobEvent.__table__)
                .where(JobEvent.job_id == job_id, JobEvent.kind.in_(["state", ERROR_EVENT]))
                .order_by(JobEvent.id)
            )
        ).all()
    return JobDetail(
        job=_summary(job),
        payload=dict((job.message or {}).get("payload") or {}),
        options=dict((job.message or {}).get("options") or {}),
        stage=job.stage,
        progress=job.progress,
        result=job.result,
        attempts=_attempts(list(events)),
    )


def _attempts(events: list[Any]) -> list[Attempt]:
    """Fold state and error events into one record per attempt. A manual
    retry or re-drive starts a new ``run`` (attempts count from 1 again)."""
    by_attempt: dict[tuple[int, int], dict[str, Any]] = {}
    run, current = 0, 0

    def entry(n: int) -> dict[str, Any]:
        return by_attempt.setdefault((run, n), {"attempt": n, "run": run})

    for e in events:
        data = dict(e.data or {})
        if e.kind == "state" and e.status == "pending" and data.get("retried"):
            run, current = run + 1, 0
        elif e.kind == "state" and e.status == "running" and not data.get("waiting_for_children"):
            current = int(data.get("attempt") or current + 1)
            entry(current).update(status="running", at=e.at)
        elif e.kind == "state" and current and "attempt" in data:
            item = entry(int(data["attempt"]))
            item.update(
                status="retried" if e.status == "queued" else e.status,
                at=e.at,
                cause=data.get("cause"),
                error_type=data.get("error_type") or item.get("error_type"),
                error_message=data.get("error_message") or item.get("error_message"),
            )
        elif e.kind == "state" and current and e.status in ("queued", "dead"):
            # Written by the reconciler: the attempt's worker died.
            item = entry(current)
            if item.get("status") in (None, "running"):
                item.update(status="crashed", cause=data.get("cause"), at=e.at)
        elif e.kind == ERROR_EVENT:
            item = entry(int(data.get("attempt") or current))
            item["traceback"] = data.get("traceback")
            item.setdefault("error_type", data.get("error_type"))
            item.setdefault("error_message", data.get("error_message"))
    return [
        Attempt(
            attempt=a["attempt"],
            run=a["run"],
            status=a.get("status"),
            at=a.get("at"),
            cause=a.get("cause"),
            error_type=a.get("error_type"),
            error_message=a.get("error_message"),
            traceback=a.get("traceback"),
        )
        for _, a in sorted(by_attempt.items())
    ]


async def _selected(
    engine: AsyncEngine, job_ids: list[uuid.UUID] | None, flt: DeadFilter | None
) -> tuple[list[tuple[uuid.UUID, str]], dict[str, str]]:
    """``(id, physical queue)`` of the dead jobs chosen, and refusals."""
    if job_ids is None and flt is None:
        raise JobStateConflict("choose jobs: give job ids or a filter")
    skipped: dict[str, str] = {}
    async with engine.connect() as conn:
        if job_ids is not None:
            rows = (
                await conn.execute(
                    sa.select(Job.id, Job.queue_name, Job.status).where(Job.id.in_(job_ids))
                )
            ).all()
            found = {r.id: r for r in rows}
            chosen = []
            for jid in job_ids:
                row = found.get(jid)
                if row is None:
                    skipped[str(jid)] = "no such job"
                elif row.status != "dead":
                    skipped[str(jid)] = f"job is {row.status}, not dead"
                else:
                    chosen.append((jid, row.queue_name))
            return chosen, skipped
        assert flt is not None
        query = sa.select(Job.id, Job.queue_name).where(*_where(flt)).limit(flt.limit)
        return [(r.id, r.queue_name) for r in (await conn.execute(query)).all()], skipped


async def redrive(
    jobs: Jobs,
    *,
    job_ids: list[uuid.UUID] | None = None,
    flt: DeadFilter | None = None,
    options: dict[str, Any] | None = None,
    actor: str = "cli",
) -> RedriveReport:
    """Run dead jobs again (``job_ids``, or those matching ``flt``), with
    ``options`` merged into their payload (only fields every chosen job's
    message type allows on re-drive, else ``RedriveOptionRefused`` and
    nothing is re-driven). Each job is reset and sent once;
    one that is no longer dead (re-driven meanwhile) is skipped."""
    chosen, skipped = await _selected(jobs.engine, job_ids, flt)
    if options:  # every job's type must allow them, or none is re-driven
        async with jobs.engine.connect() as conn:
            messages = await conn.execute(
                sa.select(Job.message).where(Job.id.in_([jid for jid, _ in chosen]))
            )
            for (message,) in messages:
                check_redrive_options((message or {}).get("payload") or {}, options)
    done: list[uuid.UUID] = []
    for jid, queue in chosen:
        try:
            await jobs.retry(jid, options=options)
        except (JobStateConflict, JobNotFound) as e:
            skipped[str(jid)] = str(e)
            continue
        done.append(jid)
        await audit.record_now(
            jobs.engine,
            actor=actor,
            action="dead.redrive",
            target=f"job:{jid}",
            details={
                "queue": queue,
                "options": options or {},
                "filter": flt.describe() if flt else None,
            },
        )
    await _drop_dead_letters(jobs, {q for _, q in chosen}, set(done))
    if done:
        log.info("dead jobs re-driven", count=len(done), actor=actor)
    return RedriveReport(redriven=done, skipped=skipped)


async def purge(
    jobs: Jobs,
    *,
    job_ids: list[uuid.UUID] | None = None,
    flt: DeadFilter | None = None,
    actor: str = "cli",
) -> list[uuid.UUID]:
    """Delete dead jobs (their events and children go with them) and their
    dead-letter messages; returns the ids deleted."""
    chosen, _ = await _selected(jobs.engine, job_ids, flt)
    ids = [jid for jid, _ in chosen]
    if not ids:
        return []
    async with jobs.engine.begin() as conn:
        gone = await purge_dead(conn, ids)
        for jid in gone:
            await audit.record(
                conn,
                actor=actor,
                action="dead.purge",
                target=f"job:{jid}",
                details={"filter": flt.describe() if flt else None},
            )
    await _drop_dead_letters(jobs, {q for _, q in chosen}, set(gone))
    log.info("dead jobs purged", count=len(gone), actor=actor)
    return gone


async def _drop_dead_letters(jobs: Jobs, queues: set[str], job_ids: set[uuid.UUID]) -> int:
    """Remove the Redis dead-letter copies of ``job_ids``."""
    broker: dramatiq.Broker = jobs.broker
    if not job_ids or not isinstance(broker, RedisBroker):
        return 0
    wanted = {str(j) for j in job_ids}
    removed = 0
    for queue in queues:
        xq = f"{broker.namespace}:{queue}.XQ"
        entries = await jobs.redis.hgetall(f"{xq}.msgs")
        drop = []
        for redis_id, body in entries.items():
            try:
                message = dramatiq.Message.decode(
                    body if isinstance(body, bytes) else body.encode()
                )
            except Exception:  # noqa: S112 - a foreign body is not ours to drop
                continue
            if message.options.get("job_id") in wanted:
                drop.append(redis_id)
        if drop:
            async with jobs.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(xq, *drop)
                pipe.hdel(f"{xq}.msgs", *drop)
                await pipe.execute()
            removed += len(drop)
    return removed
