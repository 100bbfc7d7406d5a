"""What an attempt's end means for its job, and how it is recorded.

:func:`decide` turns an actor's result or exception into an
:class:`Outcome` (with the failure's cause and error); the job engine then
records it in one statement per round of the claims and outcomes of all
worker threads (:mod:`folio_shared.jobs.bookkeeper`) when only the job row changes
(:func:`record_fast`), or in one transaction when the parent, the document
or the children are involved (:func:`record_in_transaction`).
"""

from __future__ import annotations

from typing import Any

from dramatiq.middleware import TimeLimitExceeded

from folio_shared.db.enums import FailureCause, JobStatus
from folio_shared.errors import JobCancelled, MessageError
from folio_shared.jobs import batches, family, store
from folio_shared.jobs.bookkeeper import Bookkeeper
from folio_shared.jobs.context import JobContext
from folio_shared.jobs.public_errors import tenant_message, tenant_reason
from folio_shared.jobs.store_batch import OutcomeRequest
from folio_shared.resources import resources
from folio_shared.settings import FolioSettings


class Outcome:
    """How an attempt ended, as the job engine records it."""

    SUCCEEDED = "succeeded"
    WAITING = "waiting"
    RETRY = "retry"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"
    #: Not recorded: the fence refused it (the attempt's lease went to
    #: another worker, or the job ended meanwhile). Nothing is announced.
    REFUSED = "refused"


def backoff_ms(settings: FolioSettings, attempt: int) -> int:
    """Upper bound of the delay ``Retries`` applies before retry ``attempt``."""
    jobs = settings.jobs
    return int(min(jobs.max_backoff_ms, jobs.min_backoff_ms * 2 ** max(attempt, 0)))


#: Error type and message recorded for a cancelled attempt.
CANCELLED_ERROR = ("JobCancelled", "cancelled on request")


#: Outcomes that leave the job in a final state.
FINAL_OUTCOMES = frozenset({Outcome.SUCCEEDED, Outcome.FAILED, Outcome.DEAD, Outcome.CANCELLED})

#: The status a job's live feed shows after each outcome.
STATUS = {
    Outcome.SUCCEEDED: "succeeded",
    Outcome.WAITING: "running",
    Outcome.RETRY: "queued",
    Outcome.FAILED: "failed",
    Outcome.DEAD: "dead",
    Outcome.CANCELLED: "cancelled",
}


def decide(
    ctx: JobContext, result: Any, exception: BaseException | None, limit: int
) -> tuple[str, FailureCause | None, tuple[str, str] | None]:
    """The outcome of an attempt, its failure cause and its error (type,
    message); ``limit``: the retries the job is allowed."""
    if ctx.cancelled or isinstance(exception, JobCancelled):
        return Outcome.CANCELLED, FailureCause.CANCELLED, ("JobCancelled", "cancelled")
    if ctx.failure is not None:
        err = ctx.failure
        return Outcome.FAILED, FailureCause.ERROR, (type(err).__name__, str(err))
    if exception is None:
        return (Outcome.WAITING if result is family.WAITING else Outcome.SUCCEEDED), None, None
    error = (type(exception).__name__, str(exception) or repr(exception))
    if isinstance(exception, MessageError):
        return Outcome.DEAD, FailureCause.POISON, error
    cause = FailureCause.TIMEOUT if isinstance(exception, TimeLimitExceeded) else FailureCause.ERROR
    if ctx.attempt <= limit:
        return Outcome.RETRY, cause, error
    return Outcome.DEAD, cause, error


def fast_request(
    settings: FolioSettings,
    ctx: JobContext,
    outcome: str,
    cause: FailureCause | None,
    error: tuple[str, str] | None,
    result: Any,
) -> OutcomeRequest | None:
    """The common outcomes, to batch with other threads' (one statement per
    batch): a success of a job without a parent or a batch, or a failed
    attempt that will be retried. ``None`` when the outcome needs a
    transaction (fan-in, batch, document, hand-over)."""
    if outcome == Outcome.SUCCEEDED and ctx.parent_id is None and ctx.batch_id is None:
        summary = result if isinstance(result, dict) else None
        return OutcomeRequest(ctx.job_id, ctx.attempt, JobStatus.SUCCEEDED, result=summary)
    if outcome == Outcome.RETRY and cause is not None and error is not None:
        return OutcomeRequest(
            ctx.job_id,
            ctx.attempt,
            JobStatus.QUEUED,
            cause=cause,
            error=error,
            retry_in_ms=backoff_ms(settings, ctx.attempt),
        )
    return None


async def record_fast(
    settings: FolioSettings,
    bookkeeper: Bookkeeper,
    ctx: JobContext,
    outcome: str,
    cause: FailureCause | None,
    error: tuple[str, str] | None,
    result: Any,
) -> bool:
    """:func:`fast_request`'s outcome recorded in the bookkeeper's next
    batch (committed before this returns); ``False`` when the outcome
    needs a transaction."""
    request = fast_request(settings, ctx, outcome, cause, error, result)
    if request is None:
        return False
    await bookkeeper.record(request)
    return True


def state_event(
    ctx: JobContext,
    outcome: str,
    status: str,
    cause: FailureCause | None,
    error: tuple[str, str] | None,
) -> dict[str, Any]:
    """The ``state`` event of the job's live feed for its outcome (a
    tenant follows it: the full error stays in the job row)."""
    data: dict[str, Any] = {"status": status, "attempt": ctx.attempt}
    if error is not None:
        why = cause.value if cause else None
        shown = tenant_message(status, why, error[0], error[1])
        data.update(error_type=error[0], error=shown, cause=why)
    if outcome == Outcome.WAITING:
        data["waiting_for_children"] = True
    return data


async def record_in_transaction(
    settings: FolioSettings,
    ctx: JobContext,
    outcome: str,
    cause: FailureCause | None,
    error: tuple[str, str] | None,
    result: Any,
) -> tuple[dict[str, Any] | None, family.ChildDone | None, str]:
    """Outcomes that touch more than the job row, atomically: fan-in on
    the parent, the document of a failed job, a hand-over to children.
    Returns the completion to send, the parent's fan-in count and the
    outcome recorded (a hand-over whose job was cancelled meanwhile is
    recorded as cancelled; :attr:`Outcome.REFUSED` when the fence refused
    it). A batch member's final outcome is counted in
    its batch in the same transaction; the batch's completion job, when
    this outcome wrote it, is left in ``ctx.batch_completion``."""
    res = resources()
    completion: dict[str, Any] | None = None
    counted: family.ChildDone | None = None
    handed_over = False
    async with res.engine.connect() as conn:
        finished: store.Finished | None
        if outcome == Outcome.SUCCEEDED:
            summary = result if isinstance(result, dict) else None
            finished = await store.succeed(conn, ctx.job_id, ctx.attempt, summary)
        elif outcome == Outcome.WAITING:
            ok, cancel = await store.wait_for_children(conn, ctx.job_id, ctx.attempt, ctx.stage)
            finished, handed_over = None, ok and not cancel
            if cancel:
                outcome, cause, error = Outcome.CANCELLED, FailureCause.CANCELLED, CANCELLED_ERROR
            else:
                completion = await family.take_completion(conn, ctx.job_id) if ok else None
        if outcome not in (Outcome.SUCCEEDED, Outcome.WAITING):
            status = {
                Outcome.RETRY: JobStatus.QUEUED,
                Outcome.FAILED: JobStatus.FAILED,
                Outcome.DEAD: JobStatus.DEAD,
                Outcome.CANCELLED: JobStatus.CANCELLED,
            }[outcome].value
            assert cause is not None
            assert error is not None
            finished = await store.fail(
                conn,
                ctx.job_id,
                ctx.attempt,
                status=JobStatus(status),
                cause=cause,
                error_type=error[0],
                error_message=error[1],
                retry_in_ms=backoff_ms(settings, ctx.attempt),
                uncount=ctx.quarantined,
            )
        final_failure = outcome in (Outcome.FAILED, Outcome.DEAD, Outcome.CANCELLED)
        if finished is not None and final_failure and ctx.document_id and not ctx.parent_id:
            assert error is not None
            why = cause.value if cause else None
            reason = tenant_reason(STATUS[outcome], why, error[0], error[1])
            await store.fail_document(conn, ctx.document_id, reason)
        if finished is not None and finished.parent_id and outcome != Outcome.RETRY:
            counted = await family.child_finished(conn, finished.parent_id)
            completion = counted.completion
        if finished is not None and ctx.batch_id is not None and outcome in FINAL_OUTCOMES:
            ctx.batch_completion = await batches.member_finished(
                conn, ctx.batch_id, STATUS[outcome]
            )
        await conn.commit()
    recorded = finished is not None or handed_over
    return completion, counted, outcome if recorded else Outcome.REFUSED


def poison_error(claim: store.Claim) -> tuple[str, str]:
    """The error recorded for a job quarantined as it was claimed."""
    return (
        "WorkerLost",
        f"quarantined: all {claim.max_retries + 1} attempts allowed were used and"
        f" ended with their worker ({claim.previous_cause or 'crash'})",
    )
