"""JobTracking: the Dramatiq middleware that turns messages into jobs.

For every message that carries a ``job_id`` option it:

- *claims* the job before the actor runs (:func:`store.claim`); a message
  whose job is finished, cancelled or held by a live worker is skipped
  (acked without running), which makes every redelivery harmless;
- counts attempts in PostgreSQL, so a worker killed mid-job still used an
  attempt; a job whose attempts are used up by crashes is quarantined
  (``dead``, cause ``poison``) instead of killing workers again;
- records the outcome (fenced on the attempt): ``succeeded``, a retry
  (back to ``queued``), ``failed`` (a permanent error: no retry), ``dead``
  (retries exhausted, timed out too often, or an undecodable message) or
  ``cancelled``; runs fan-in for child jobs;
- tells Dramatiq's ``Retries`` middleware whether to retry, through its
  ``retry_when`` hook: the retry count lives in PostgreSQL, not in the
  message, because a SIGKILL never increments a message's count;
- renews the leases of its running jobs from a heartbeat thread, which also
  picks up cancellation requests and runs the reconciler now and then.

Placement: last in the middleware list. Dramatiq runs ``after_*`` hooks in
reverse order, so its ``after_process_message`` runs before ``Retries``
asks for the decision, and its ``after_worker_shutdown`` (handing back
unfinished jobs) runs while ``WorkerResources`` still has the database open.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from typing import Any

import dramatiq
import redis
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware, SkipMessage, TimeLimitExceeded

from folio_shared.db.enums import FailureCause, JobStatus
from folio_shared.errors import JobCancelled, MessageError
from folio_shared.jobs import family, outbox, reconcile, store
from folio_shared.jobs.context import JobContext, reset_current, set_current
from folio_shared.logging import get_logger
from folio_shared.settings import FolioSettings

log = get_logger(__name__)


class Outcome:
    SUCCEEDED = "succeeded"
    WAITING = "waiting"
    RETRY = "retry"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"


def backoff_ms(settings: FolioSettings, attempt: int) -> int:
    """Upper bound of the delay ``Retries`` applies before retry ``attempt``."""
    jobs = settings.jobs
    return int(min(jobs.max_backoff_ms, jobs.min_backoff_ms * 2 ** max(attempt, 0)))


#: Error type and message recorded for a cancelled attempt.
_CANCELLED = ("JobCancelled", "cancelled on request")


class MessagePointers(Middleware):
    """Remember the Redis id of a tracked job's latest message, whoever sent
    it (see :func:`reconcile.message_pointer_key`): without it the
    reconciler takes a queued job's message for lost and sends it again.
    JobTracking does this in workers; send-only brokers (the API's) install
    this middleware alone."""

    def after_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        self.record(broker, message)

    @staticmethod
    def record(broker: dramatiq.Broker, message: dramatiq.Message[Any]) -> None:
        job_id = message.options.get("job_id")
        redis_id = message.options.get("redis_message_id")
        if not job_id or not redis_id or not isinstance(broker, RedisBroker):
            return
        key = reconcile.message_pointer_key(broker.namespace, job_id)
        try:
            broker.client.set(key, redis_id, ex=reconcile.MESSAGE_POINTER_TTL_S)
        except redis.RedisError as e:
            log.warning("message pointer not stored", job_id=job_id, error=repr(e))


class JobTracking(Middleware):
    """Records every tracked message's job lifecycle in PostgreSQL.

    - ``settings``: lease length (``jobs.lease_ms``), retry defaults, and
      how often one worker of the cluster runs the reconciler
      (``jobs.reconcile_interval_ms``; a Redis lock keeps it to one at a time).
    """

    def __init__(self, settings: FolioSettings) -> None:
        self.settings = settings
        self.reconcile_every_s = settings.jobs.reconcile_interval_ms / 1000
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.broker: dramatiq.Broker | None = None
        self._running: dict[str, tuple[JobContext, Any]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- Retries integration ---------------------------------------------------

    def should_retry(self, retries: int, exception: BaseException) -> bool:
        """``retry_when`` for Dramatiq's ``Retries``: our decision for a
        tracked message, the settings' limit for an untracked one."""
        decision = getattr(self._local, "retry", None)
        self._local.retry = None
        if decision is not None:
            return bool(decision)
        return retries < self.settings.jobs.max_retries

    # -- worker lifecycle ---------------------------------------------------------

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        self.broker = broker
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._heartbeat, name="folio-job-heartbeat", daemon=True
        )
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        # Jobs still running here were not finished within the grace period:
        # hand them back now rather than after their lease.
        with self._lock:
            ids = [ctx.job_id for ctx, _ in self._running.values()]
        if ids:
            log.warning("handing back unfinished jobs", count=len(ids))
            self._run(self._release(ids))

    # -- per message ------------------------------------------------------------

    def after_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        MessagePointers.record(broker, message)

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        job_id = message.options.get("job_id")
        if not job_id:
            return
        continuation = bool(message.options.get("continuation"))
        claim = self._run(self._claim(uuid.UUID(job_id), continuation, message.message_id))
        if claim is None:
            raise SkipMessage()
        ctx = JobContext(
            job_id=claim.job_id,
            attempt=claim.attempt,
            tenant_id=claim.tenant_id,
            document_id=claim.document_id,
            parent_id=claim.parent_id,
            continuation=claim.continuation,
            max_retries=self._max_retries(broker, message, claim.max_retries),
        )
        if not claim.continuation and claim.attempt > ctx.max_retries + 1:
            # Every attempt was used and the job is still being delivered: the
            # earlier ones died with their worker. Quarantine it.
            ctx.quarantined = True
            self._run(self._finish(ctx, Outcome.DEAD, FailureCause.POISON, _poison(claim)))
            raise SkipMessage()
        token = set_current(ctx)
        with self._lock:
            self._running[message.message_id] = (ctx, token)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._pop(message)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        entry = self._pop(message)
        if entry is None:
            return
        ctx = entry
        outcome, cause, error = self._decide(ctx, result, exception, ctx.max_retries)
        self._local.retry = outcome == Outcome.RETRY
        self._run(self._finish(ctx, outcome, cause, error, result=result))

    # -- decisions -------------------------------------------------------------

    @staticmethod
    def _max_retries(broker: dramatiq.Broker, message: MessageProxy, row_value: int) -> int:
        """The job row's limit, capped by the actor's own ``max_retries``."""
        actor_value = broker.get_actor(message.actor_name).options.get("max_retries")
        return min(row_value, int(actor_value)) if actor_value is not None else row_value

    def _decide(
        self, ctx: JobContext, result: Any, exception: BaseException | None, limit: int
    ) -> tuple[str, FailureCause | None, tuple[str, str] | None]:
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
        cause = (
            FailureCause.TIMEOUT if isinstance(exception, TimeLimitExceeded) else FailureCause.ERROR
        )
        if ctx.attempt <= limit:
            return Outcome.RETRY, cause, error
        return Outcome.DEAD, cause, error

    # -- database work (on the worker's event loop) ------------------------------

    def _run(self, coro: Any) -> Any:
        loop = get_event_loop_thread()
        if loop is None:
            raise RuntimeError("JobTracking needs the AsyncIO middleware")
        return loop.run_coroutine(coro)

    async def _claim(
        self, job_id: uuid.UUID, continuation: bool, message_id: str
    ) -> store.Claim | None:
        from folio_shared.resources import resources

        res = resources()
        claim = await store.claim_fast(
            res.pg,
            job_id,
            worker=self.worker_id,
            lease_ms=self.settings.jobs.lease_ms,
            continuation=continuation,
            message_id=message_id,
        )
        if claim is None:
            log.info("message skipped: job not claimable", job_id=str(job_id))
            return None
        res.events.send(job_id, "state", {"status": "running", "attempt": claim.attempt})
        return claim

    async def _finish_fast(
        self,
        ctx: JobContext,
        outcome: str,
        cause: FailureCause | None,
        error: tuple[str, str] | None,
        result: Any,
    ) -> bool:
        """The common outcomes in one round trip: a success of a job without
        a parent, or a failed attempt that will be retried. ``False`` when
        the outcome needs a transaction (fan-in, document, hand-over)."""
        from folio_shared.resources import resources

        pool = resources().pg
        if outcome == Outcome.SUCCEEDED and ctx.parent_id is None:
            summary = result if isinstance(result, dict) else None
            await store.succeed_fast(pool, ctx.job_id, ctx.attempt, summary)
            return True
        if outcome == Outcome.RETRY and cause is not None and error is not None:
            await store.retry_fast(
                pool,
                ctx.job_id,
                ctx.attempt,
                cause=cause,
                error_type=error[0],
                error_message=error[1],
                retry_in_ms=backoff_ms(self.settings, ctx.attempt),
            )
            return True
        return False

    async def _finish(
        self,
        ctx: JobContext,
        outcome: str,
        cause: FailureCause | None,
        error: tuple[str, str] | None,
        *,
        result: Any = None,
    ) -> None:
        from folio_shared.resources import resources

        res = resources()
        completion: dict[str, Any] | None = None
        counted: family.ChildDone | None = None
        status: str = {
            Outcome.SUCCEEDED: "succeeded",
            Outcome.WAITING: "running",
            Outcome.RETRY: "queued",
            Outcome.FAILED: "failed",
            Outcome.DEAD: "dead",
            Outcome.CANCELLED: "cancelled",
        }[outcome]
        if not await self._finish_fast(ctx, outcome, cause, error, result):
            completion, counted, outcome = await self._finish_in_transaction(
                ctx, outcome, cause, error, result
            )
            if outcome == Outcome.CANCELLED:
                status = "cancelled"
                cause, error = FailureCause.CANCELLED, _CANCELLED
        if counted is not None and ctx.parent_id is not None:
            # The parent's live feed shows its children's progress.
            res.events.send(
                ctx.parent_id,
                "progress",
                {"stage": "children", "done": counted.done, "total": counted.total},
            )
        if completion is not None and self.broker is not None:
            parent = ctx.job_id if outcome == Outcome.WAITING else ctx.parent_id
            assert parent is not None
            self._send_completion(parent, completion)
        data: dict[str, Any] = {"status": status, "attempt": ctx.attempt}
        if error is not None:
            data.update(error_type=error[0], error=error[1], cause=cause.value if cause else None)
        if outcome == Outcome.WAITING:
            data["waiting_for_children"] = True
        res.events.send(ctx.job_id, "state", data)

    async def _finish_in_transaction(
        self,
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
        recorded as cancelled)."""
        from folio_shared.resources import resources

        res = resources()
        completion: dict[str, Any] | None = None
        counted: family.ChildDone | None = None
        async with res.engine.connect() as conn:
            finished: store.Finished | None
            if outcome == Outcome.SUCCEEDED:
                summary = result if isinstance(result, dict) else None
                finished = await store.succeed(conn, ctx.job_id, ctx.attempt, summary)
            elif outcome == Outcome.WAITING:
                ok, cancel = await store.wait_for_children(conn, ctx.job_id, ctx.attempt, ctx.stage)
                finished = None
                if cancel:
                    outcome, cause, error = Outcome.CANCELLED, FailureCause.CANCELLED, _CANCELLED
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
                    retry_in_ms=backoff_ms(self.settings, ctx.attempt),
                    uncount=ctx.quarantined,
                )
            final_failure = outcome in (Outcome.FAILED, Outcome.DEAD, Outcome.CANCELLED)
            if finished is not None and final_failure and ctx.document_id and not ctx.parent_id:
                assert error is not None
                await store.fail_document(conn, ctx.document_id, f"{error[0]}: {error[1]}")
            if finished is not None and finished.parent_id and outcome != Outcome.RETRY:
                counted = await family.child_finished(conn, finished.parent_id)
                completion = counted.completion
            await conn.commit()
        return completion, counted, outcome

    def _send_completion(self, parent_id: uuid.UUID, env: dict[str, Any]) -> None:
        assert self.broker is not None
        try:
            outbox.resend(self.broker, parent_id, env, continuation=True)
        except Exception as e:
            log.warning(
                "completion not sent; the reconciler will", job_id=str(parent_id), error=repr(e)
            )

    async def _release(self, ids: list[uuid.UUID]) -> None:
        from folio_shared.resources import resources

        async with resources().engine.connect() as conn:
            await store.release(conn, ids, worker=self.worker_id)
            await conn.commit()

    # -- heartbeat thread ---------------------------------------------------------

    def _heartbeat(self) -> None:
        interval = max(min(self.settings.jobs.lease_ms / 3000, self.reconcile_every_s), 0.1)
        since_reconcile = 0.0
        while not self._stop.wait(interval):
            try:
                with self._lock:
                    running = {ctx.job_id: ctx for ctx, _ in self._running.values()}
                if running:
                    cancelled = self._run(self._renew(list(running)))
                    for job_id in cancelled:
                        running[job_id].cancelled = True
                since_reconcile += interval
                if since_reconcile >= self.reconcile_every_s and self.broker is not None:
                    since_reconcile = 0.0
                    self._run(reconcile.run_if_leader(self.broker, self.settings))
            except Exception as e:
                log.warning("job heartbeat failed", error=repr(e))

    async def _renew(self, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        from folio_shared.resources import resources

        return await store.renew_leases_fast(
            resources().pg, ids, worker=self.worker_id, lease_ms=self.settings.jobs.lease_ms
        )

    def _pop(self, message: MessageProxy) -> JobContext | None:
        with self._lock:
            entry = self._running.pop(message.message_id, None)
        if entry is None:
            return None
        ctx, token = entry
        try:
            reset_current(token)
        except ValueError:
            set_current(None)
        return ctx


def _poison(claim: store.Claim) -> tuple[str, str]:
    return (
        "WorkerLost",
        f"quarantined: all {claim.max_retries + 1} attempts allowed were used and"
        f" ended with their worker ({claim.previous_cause or 'crash'})",
    )
