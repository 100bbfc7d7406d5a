"""What an actor knows about the job it runs, and how it reports progress.

Inside an actor::

    await progress("extracting", done=3, total=10)   # stage + units
    await progress(percent=40)

One call updates the job row (throttled: at most one write a second unless
the stage changes) and appends a progress event to the job's stream
(throttled to a few a second). It is also the cancellation point: when the
job was cancelled, ``progress()`` raises :class:`JobCancelled`, which the
job engine records as ``cancelled`` (no retry).
"""

from __future__ import annotations

import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from folio_shared.errors import ConfigurationError, JobCancelled
from folio_shared.jobs.events import EventSender
from folio_shared.jobs.store_asyncpg import positional
from folio_shared.resources import resources

#: Least time between two writes of a job row's progress, in seconds.
ROW_WRITE_INTERVAL_S = 1.0
#: Least time between two progress events, in seconds.
EVENT_INTERVAL_S = 0.2


@dataclass
class JobContext:
    """The job an actor runs: ids, attempt, and progress state."""

    job_id: uuid.UUID
    attempt: int
    tenant_id: uuid.UUID | None
    document_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    continuation: bool
    max_retries: int = 3
    cancelled: bool = False
    quarantined: bool = False
    stage: str | None = None
    failure: BaseException | None = None
    #: The batch the job belongs to, and the batch's completion job its
    #: outcome wrote (to send once that outcome is committed).
    batch_id: uuid.UUID | None = None
    batch_completion: uuid.UUID | None = None
    #: Where progress events go (the worker's job event publisher).
    events: EventSender | None = field(default=None, repr=False)
    _row_written_at: float = field(default=0.0, repr=False)
    _event_sent_at: float = field(default=0.0, repr=False)


_current: ContextVar[JobContext | None] = ContextVar("folio_job", default=None)


def current_job() -> JobContext:
    """The job of the running actor (raises outside a tracked job)."""
    ctx = _current.get()
    if ctx is None:
        raise ConfigurationError("not inside a tracked job")
    return ctx


def current_job_or_none() -> JobContext | None:
    return _current.get()


def set_current(ctx: JobContext | None) -> Any:
    return _current.set(ctx)


def reset_current(token: Any) -> None:
    _current.reset(token)


_PROGRESS = sa.text(
    """
    UPDATE jobs SET stage = coalesce(CAST(:stage AS text), stage),
      progress = coalesce(CAST(:percent AS smallint), progress),
      units_done = coalesce(CAST(:done AS integer), units_done),
      units_total = coalesce(CAST(:total AS integer), units_total), updated_at = now()
    WHERE id = :id AND status = 'running' AND attempts = :attempt
    RETURNING cancel_requested_at IS NOT NULL AS cancel
    """
)


_PROGRESS_SQL = positional(_PROGRESS)


async def progress(
    stage: str | None = None,
    *,
    done: int | None = None,
    total: int | None = None,
    percent: int | None = None,
) -> None:
    """Report progress of the current job; raise :class:`JobCancelled` when
    it was cancelled. Cheap to call often."""
    ctx = current_job()
    if ctx.cancelled:
        raise JobCancelled("job cancelled", job_id=str(ctx.job_id))
    if percent is None and done is not None and total:
        percent = max(0, min(100, done * 100 // total))
    now = time.monotonic()
    stage_changed = stage is not None and stage != ctx.stage
    if stage_changed or now - ctx._row_written_at >= ROW_WRITE_INTERVAL_S:
        ctx._row_written_at = now
        values = {
            "id": ctx.job_id,
            "attempt": ctx.attempt,
            "stage": stage,
            "percent": percent,
            "done": done,
            "total": total,
        }
        row = await resources().pg.fetchrow(
            _PROGRESS_SQL[0], *[values[n] for n in _PROGRESS_SQL[1]]
        )
        if row is not None and row["cancel"]:
            ctx.cancelled = True
            raise JobCancelled("job cancelled", job_id=str(ctx.job_id))
    if stage is not None:
        ctx.stage = stage
    if ctx.events is not None and (stage_changed or now - ctx._event_sent_at >= EVENT_INTERVAL_S):
        ctx._event_sent_at = now
        data: dict[str, Any] = {"stage": ctx.stage, "percent": percent}
        if done is not None:
            data["done"] = done
        if total is not None:
            data["total"] = total
        ctx.events.send(ctx.job_id, "progress", data)
