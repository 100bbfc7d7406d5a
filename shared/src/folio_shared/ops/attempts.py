"""The error and traceback of every failed attempt, kept with the job.

The job engine records each attempt's outcome (error type and message) as a
``state`` row in ``job_events``. :class:`AttemptErrors` adds, for every
attempt that raised (or failed on purpose), an ``error`` row with the
attempt number and the formatted traceback
(:func:`folio_shared.jobs.attempt_errors.record_error`), so the dead-letter
workbench can show why each attempt failed without any log search.
"""

from __future__ import annotations

import traceback
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from folio_shared.jobs.attempt_errors import record_error
from folio_shared.jobs.context import current_job_or_none
from folio_shared.logging import get_logger
from folio_shared.resources import resources

log = get_logger(__name__)

#: Longest traceback kept, in characters (the end is kept: it names the cause).
MAX_TRACEBACK_CHARS = 20_000


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
            loop.run_coroutine(record_error(resources().engine, ctx.job_id, data))
        except Exception as e:
            log.warning("attempt error not recorded", job_id=str(ctx.job_id), error=repr(e))
