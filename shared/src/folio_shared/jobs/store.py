"""Job state transitions in PostgreSQL, each one statement, each one fenced.

PostgreSQL is the source of truth for jobs. Every transition is a single
conditional ``UPDATE`` (with its ``job_events`` row written by the same
statement), so two workers handed the same message, a late ack, or a
redelivered message can never both win:

- a *claim* (``queued`` → ``running``) succeeds only for a job nobody holds:
  ``pending``/``queued``, or ``running`` with an expired lease (its worker
  died); it increments ``attempts``, so a crash uses an attempt;
- every outcome of an attempt is written only while the job is still
  ``running`` *with that attempt number* (fencing), so a stale worker that
  wakes up late changes nothing.

Functions take an ``AsyncConnection``; callers choose the transaction.
:mod:`folio_shared.jobs.store_asyncpg` runs the per-message statements
(claim, success, retry, lease renewal) on a raw asyncpg pool instead.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from folio_shared.db.enums import FailureCause, JobStatus

#: States a job can be claimed from.
_CLAIMABLE = "('pending', 'queued')"


@dataclass(frozen=True)
class Claim:
    """A won claim: this worker runs ``attempt`` of the job."""

    job_id: uuid.UUID
    attempt: int
    max_retries: int
    tenant_id: uuid.UUID | None
    document_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    continuation: bool
    previous_cause: str | None
    batch_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Finished:
    """A job that reached a final state (or handed over to its children)."""

    job_id: uuid.UUID
    status: JobStatus
    parent_id: uuid.UUID | None


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _event(status: str, data_sql: str) -> str:
    """SQL of the ``job_events`` insert fed by the ``t`` CTE."""
    # Built from literals of this module only, never from input.
    return (
        "INSERT INTO job_events (job_id, kind, status, data) "  # noqa: S608
        f"SELECT id, 'state', '{status}', {data_sql} FROM t"
    )


#: A claim's events: ``running``, after a ``queued`` one when the job was
#: still ``pending`` (see :data:`CLAIM`).
_CLAIM_EVENTS = """
  INSERT INTO job_events (job_id, kind, status, data)
  SELECT t.id, 'state', s.status,
         CASE WHEN s.n = 1 THEN jsonb_build_object('message_id', t.message_id)
              ELSE jsonb_build_object('attempt', t.attempts, 'worker', CAST(:worker AS text)) END
  FROM t, (VALUES (1, 'queued'), (2, 'running')) AS s(n, status)
  WHERE s.n = 2 OR t.was = 'pending'
  ORDER BY s.n"""
#: Claim a job for one attempt. A ``pending`` job is claimed when its message
#: arrived before its sender recorded the send (the sender's update then
#: finds it ``running`` and does nothing): the claim records what that
#: update would have, the send time, the message id and the ``queued``
#: event, so the history still reads pending, queued, running.
#: The claim's common table expressions for the jobs of ``o`` (see
#: :data:`CLAIM`; the batched round in :mod:`folio_shared.jobs.store_batch`
#: fills them for many, beside the outcomes of the same round): ``o`` the
#: rows locked, ``t`` the claimed jobs, ``e`` their events. Rows are locked
#: in id order, so statements that share jobs never deadlock.
CLAIM_CTES = f"""
    {{source}}o AS MATERIALIZED (
      SELECT id, status AS was FROM jobs WHERE {{ids}} ORDER BY id FOR UPDATE
    ), t AS (
      UPDATE jobs SET
        status = 'running',
        attempts = CASE WHEN completion_sent_at IS NULL THEN attempts + 1 ELSE attempts END,
        started_at = coalesce(started_at, now()), updated_at = now(),
        worker = :worker, eta = NULL,
        lease_expires_at = now() + make_interval(secs => CAST(:lease_s AS double precision)),
        sent_at = coalesce(sent_at, now()), queued_at = coalesce(queued_at, now()),
        message_id = coalesce(jobs.message_id, {{message_id}})
      FROM {{from_}}
      WHERE jobs.id = o.id AND cancel_requested_at IS NULL AND (
        status IN {_CLAIMABLE}
        OR (status = 'running' AND lease_expires_at < now())
        OR (status = 'running' AND lease_expires_at IS NULL
            AND completion_sent_at IS NOT NULL AND {{continuation}})
      )
      RETURNING jobs.id, attempts, max_retries, tenant_id, document_id, parent_id,
                completion_sent_at IS NOT NULL AS continuation, cause, jobs.message_id, o.was,
                jobs.batch_id
    ), e AS ({_CLAIM_EVENTS}
    )"""  # noqa: S608 - built from this module's literals only
#: The claim's statement for the jobs of ``o``.
CLAIM_TEMPLATE = "WITH " + CLAIM_CTES + "\n    SELECT * FROM t\n"  # noqa: S608
CLAIM = sa.text(
    CLAIM_TEMPLATE.format(
        source="",
        ids="id = :id",
        message_id="CAST(:message_id AS text)",
        from_="o",
        continuation="CAST(:continuation AS boolean)",
    )
)


async def claim(
    conn: AsyncConnection,
    job_id: uuid.UUID | str,
    *,
    worker: str,
    lease_ms: int,
    continuation: bool = False,
    message_id: str | None = None,
) -> Claim | None:
    """Take the job for one attempt, or ``None`` if someone else holds it,
    it is finished, or it was cancelled. ``message_id``: of the message
    claiming it (recorded if the sender has not yet)."""
    row = (
        await conn.execute(
            CLAIM,
            {
                "id": _uuid(job_id),
                "worker": worker,
                "lease_s": lease_ms / 1000,
                "continuation": continuation,
                "message_id": message_id,
            },
        )
    ).first()
    if row is None:
        return None
    return Claim(
        job_id=row.id,
        attempt=row.attempts,
        max_retries=row.max_retries,
        tenant_id=row.tenant_id,
        document_id=row.document_id,
        parent_id=row.parent_id,
        continuation=row.continuation,
        previous_cause=row.cause,
        batch_id=row.batch_id,
    )


async def status_of(conn: AsyncConnection, job_id: uuid.UUID | str) -> str | None:
    """The job's current status, or ``None`` when there is no such job."""
    value = await conn.scalar(
        sa.text("SELECT status FROM jobs WHERE id = :id"), {"id": _uuid(job_id)}
    )
    return None if value is None else str(value)


_FINISH = """
    WITH t AS (
      UPDATE jobs SET {sets}, updated_at = now(), lease_expires_at = NULL
      WHERE id = :id AND status = 'running' AND attempts = :attempt
      RETURNING id, parent_id
    ), e AS ({event})
    SELECT * FROM t
"""

SUCCEED = sa.text(
    _FINISH.format(
        sets=(
            "status = 'succeeded', finished_at = now(), progress = 100,"
            " result = CAST(:result AS jsonb),"
            # an earlier attempt's failure (a crash, a retried error) is history
            " cause = NULL, error_type = NULL, error_message = NULL"
        ),
        event=_event("succeeded", "jsonb_build_object('attempt', CAST(:attempt AS integer))"),
    )
)
_WAIT = sa.text(
    _FINISH.format(
        sets="worker = NULL, stage = coalesce(CAST(:stage AS text), stage)",
        event=_event("running", "jsonb_build_object('waiting_for_children', true)"),
    ).replace(
        "RETURNING id, parent_id",
        "RETURNING id, parent_id, cancel_requested_at IS NOT NULL AS cancel",
    )
)


async def succeed(
    conn: AsyncConnection, job_id: uuid.UUID, attempt: int, result: dict[str, Any] | None
) -> Finished | None:
    """Record a successful attempt (fenced on ``attempt``)."""
    row = (
        await conn.execute(
            SUCCEED,
            {"id": job_id, "attempt": attempt, "result": json.dumps(result) if result else None},
        )
    ).first()
    return None if row is None else Finished(row.id, JobStatus.SUCCEEDED, row.parent_id)


async def wait_for_children(
    conn: AsyncConnection, job_id: uuid.UUID, attempt: int, stage: str | None
) -> tuple[bool, bool]:
    """The attempt handed the work to child jobs: the job stays ``running``
    without a lease until its completion step runs. Returns ``(handed
    over, cancel requested)``: a cancel that arrived while the attempt ran
    (the job then still held its lease, so the cancel could only be
    requested) must be carried out by the caller now, or nobody would."""
    row = (await conn.execute(_WAIT, {"id": job_id, "attempt": attempt, "stage": stage})).first()
    if row is None:
        return False, False
    return True, bool(row.cancel)


FAIL = sa.text(
    _FINISH.format(
        sets=(
            "status = :status, cause = :cause, error_type = :error_type,"
            " error_message = :error_message,"
            " finished_at = CASE WHEN CAST(:final AS boolean) THEN now() ELSE NULL END,"
            " eta = CASE WHEN CAST(:final AS boolean) THEN NULL"
            " ELSE now() + make_interval(secs => CAST(:retry_in_s AS double precision)) END,"
            " worker = CASE WHEN CAST(:final AS boolean) THEN worker ELSE NULL END,"
            " attempts = attempts - CAST(:uncount AS integer)"
        ),
        event=(
            "INSERT INTO job_events (job_id, kind, status, data) SELECT id, 'state',"
            " CAST(:status AS text), jsonb_build_object('attempt', CAST(:attempt AS integer),"
            " 'cause', CAST(:cause AS text), 'error_type', CAST(:error_type AS text),"
            " 'error_message', CAST(:error_message AS text), 'retry_in_s',"
            " CASE WHEN CAST(:final AS boolean) THEN NULL"
            " ELSE CAST(:retry_in_s AS double precision) END) FROM t"
        ),
    )
)


async def fail(
    conn: AsyncConnection,
    job_id: uuid.UUID,
    attempt: int,
    *,
    status: JobStatus,
    cause: FailureCause,
    error_type: str,
    error_message: str,
    retry_in_ms: int = 0,
    uncount: bool = False,
) -> Finished | None:
    """Record a failed attempt: back to ``queued`` (a retry is scheduled) or a
    final ``failed`` / ``dead`` / ``cancelled``. ``uncount``: the claim was
    not a real attempt (a job quarantined as it was claimed)."""
    final = status is not JobStatus.QUEUED
    row = (
        await conn.execute(
            FAIL,
            {
                "id": job_id,
                "attempt": attempt,
                "status": status.value,
                "cause": cause.value,
                "error_type": error_type[:200],
                "error_message": error_message[:4000],
                "final": final,
                "retry_in_s": retry_in_ms / 1000,
                "uncount": 1 if uncount else 0,
            },
        )
    ).first()
    return None if row is None else Finished(row.id, status, row.parent_id)


async def renew_leases(
    conn: AsyncConnection, job_ids: list[uuid.UUID], *, worker: str, lease_ms: int
) -> set[uuid.UUID]:
    """Extend the leases of the jobs this worker runs; returns those whose
    cancellation was requested."""
    if not job_ids:
        return set()
    rows = await conn.execute(
        sa.text(
            "UPDATE jobs SET lease_expires_at ="
            " now() + make_interval(secs => CAST(:lease_s AS double precision))"
            " WHERE id = ANY(:ids) AND status = 'running' AND worker = :worker"
            " RETURNING id, cancel_requested_at IS NOT NULL AS cancel"
        ),
        {"ids": job_ids, "worker": worker, "lease_s": lease_ms / 1000},
    )
    return {r.id for r in rows if r.cancel}


async def release(conn: AsyncConnection, job_ids: list[uuid.UUID], *, worker: str) -> None:
    """Hand running jobs back at shutdown: expire their leases now, so the
    reconciler re-sends them at once instead of after the lease."""
    if job_ids:
        await conn.execute(
            sa.text(
                "UPDATE jobs SET lease_expires_at = now() - interval '1 second'"
                " WHERE id = ANY(:ids) AND status = 'running' AND worker = :worker"
            ),
            {"ids": job_ids, "worker": worker},
        )


async def fail_document(conn: AsyncConnection, document_id: uuid.UUID, reason: str) -> None:
    """A document's processing job ended without success: the document shows
    ``failed`` with the reason (unless it already reached another outcome)."""
    await conn.execute(
        sa.text(
            "UPDATE documents SET status = 'failed', error = :reason, updated_at = now()"
            " WHERE id = :id AND status IN ('uploaded', 'queued', 'processing')"
        ),
        {"id": document_id, "reason": reason[:2000]},
    )
