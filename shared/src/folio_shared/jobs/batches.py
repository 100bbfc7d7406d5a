"""Batches: jobs counted under one status, with one completion job.

A batch row (``batches``) holds ``total`` members and counts those in a
final state (``finished``; ``failed`` of them did not succeed). Counting
happens where a member reaches its final state, **in the same transaction
as the fenced update that put it there** (a member's outcome is written
once per attempt, so it is counted once): the job engine's outcomes
(:mod:`.outcomes`), a cancel (:class:`~.service.Jobs`), the reconciler's
quarantine. The count that reaches ``total`` also claims the completion:
one ``UPDATE`` adds the member and sets ``completion_job_id`` when it was
``NULL``, and the completion job is written through the outbox in that
transaction; so it exists exactly once, however many members finish at
the same moment or are delivered twice.

A member run again (retry, re-drive) leaves its final state: it is
counted out (:func:`member_reopened`, in the reset's transaction) and
counted in again when it ends. ``finished`` is thus always the number of
members in a final state. A batch whose completion was already sent does
not send it again: a member retried after the batch completed runs on
its own.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from folio_shared.jobs import outbox
from folio_shared.messages import Priority

#: Statuses that count a member as finished, and those that count it failed.
FINAL = ("succeeded", "failed", "dead", "cancelled")
FAILED = ("failed", "dead", "cancelled")

#: What ``on_complete`` holds besides the envelope: the completion job's
#: columns (``priority``, ``max_retries``, ``metadata``).
JOB_KEY = "job"

_COUNT = sa.text(
    """
    UPDATE batches SET finished = finished + 1,
      failed = failed + CAST(:failed AS integer),
      finished_at = CASE WHEN finished + 1 = total THEN now() ELSE finished_at END,
      completion_job_id = CASE
        WHEN finished + 1 = total AND completion_job_id IS NULL AND on_complete IS NOT NULL
        THEN CAST(:completion AS uuid) ELSE completion_job_id END
    WHERE id = :id
    RETURNING completion_job_id = CAST(:completion AS uuid) AS complete, on_complete, tenant_id
    """
)

_UNCOUNT = sa.text(
    """
    UPDATE batches SET finished = finished - 1,
      failed = failed - CAST(:failed AS integer), finished_at = NULL
    WHERE id = :id AND finished > 0
    """
)


async def member_finished(
    conn: AsyncConnection, batch_id: uuid.UUID, status: str
) -> uuid.UUID | None:
    """Count a member that reached ``status`` (final) in the caller's
    transaction; returns the completion job written now (pending: send it
    after the commit, :func:`~.outbox.dispatch`), or ``None``."""
    completion = uuid.uuid4()
    row = (
        await conn.execute(
            _COUNT,
            {"id": batch_id, "failed": 1 if status in FAILED else 0, "completion": completion},
        )
    ).first()
    if row is None or not row.complete:
        return None
    await _write_completion(conn, completion, row.on_complete, row.tenant_id, batch_id)
    return completion


async def member_reopened(conn: AsyncConnection, batch_id: uuid.UUID, status: str) -> None:
    """Count out a member leaving its final ``status`` (retried or
    re-driven), in the caller's transaction."""
    await conn.execute(_UNCOUNT, {"id": batch_id, "failed": 1 if status in FAILED else 0})


async def count_finished(conn: AsyncConnection, job_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Count the batch members among ``job_ids``, which the caller just put
    in a final state (a cancel of several jobs); returns the completion
    jobs written."""
    if not job_ids:
        return []
    rows = await conn.execute(
        sa.text(
            "SELECT batch_id, status FROM jobs WHERE id = ANY(:ids) AND batch_id IS NOT NULL"
            " ORDER BY batch_id"
        ),
        {"ids": job_ids},
    )
    written = []
    for batch_id, status in rows.all():
        completion = await member_finished(conn, batch_id, str(status))
        if completion is not None:
            written.append(completion)
    return written


async def _write_completion(
    conn: AsyncConnection,
    job_id: uuid.UUID,
    on_complete: dict[str, Any],
    tenant_id: uuid.UUID | None,
    batch_id: uuid.UUID,
) -> None:
    """The completion job, through the outbox, in ``conn``'s transaction
    (the session joins it with a savepoint and never commits it)."""
    env = {k: v for k, v in on_complete.items() if k != JOB_KEY}
    job: dict[str, Any] = on_complete.get(JOB_KEY, {})
    session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint")
    try:
        outbox.enqueue_envelope(
            session,
            env,
            job_id=job_id,
            tenant_id=tenant_id,
            priority=Priority(job.get("priority", Priority.NORMAL.value)),
            max_retries=int(job.get("max_retries", 3)),
            meta={**(job.get("metadata") or {}), "batch_id": str(batch_id)},
        )
        await session.commit()
    finally:
        await session.close()
