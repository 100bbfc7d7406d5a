"""The error and traceback of every failed attempt, kept with the job.

The job engine records each attempt's outcome (error type and message) as a
``state`` row in ``job_events``. :class:`AttemptErrors` adds, for every
attempt that raised (or failed on purpose), an ``error`` row with the
attempt number and the formatted traceback, so the dead-letter workbench
can show why each attempt failed without any log search.
"""

from __future__ import annotations

import traceback
import uuid
from typing import Any

import dramatiq
import sqlalchemy as sa
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from folio_shared.db.models import JobEvent
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: Longest traceback kept, in characters (the end is kept: it names the cause).
MAX_TRACEBACK_CHARS = 20_000

#: ``job_events.kind`` of the rows this module writes.
ERROR_EVENT = "error"


def format_error(error: BaseException) -> str:
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return text[-MAX_TRACEBACK_CHARS:]


class AttemptErrors(Middleware):
    """Writes an ``error`` event with the traceback of each failed attempt.

    Placement: after ``JobTracking``, whose job context (attempt number,
    a failure the actor turned into a permanent one) it reads before the
    job engine records the outcome. Costs nothing on success.
    """

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        from folio_shared.jobs.context import current_job_or_none

        ctx = current_job_or_none()
        error = exception if exception is not None else (ctx.failure if ctx else None)
        if ctx is None or error is None:
            return
        loop = get_event_loop_thread()
        if loop is None:
            return
        data = {
            "attempt": ctx.attempt,
            "error_type": type(error).__name__,
            "error_message": str(error)[:4000],
            "traceback": format_error(error),
        }
        try:
            loop.run_coroutine(_write(ctx.job_id, data))
        except Exception as e:
            log.warning("attempt error not recorded", job_id=str(ctx.job_id), error=repr(e))


async def _write(job_id: uuid.UUID, data: dict[str, Any]) -> None:
    from folio_shared.resources import resources

    async with resources().engine.begin() as conn:
        await conn.execute(sa.insert(JobEvent).values(job_id=job_id, kind=ERROR_EVENT, data=data))
