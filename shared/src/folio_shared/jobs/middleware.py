"""JobTracking: the Dramatiq middleware that turns messages into jobs.

For every message that carries a ``job_id`` option it:

- *claims* the job before the actor runs (:func:`store.claim`, batched
  with the other threads' claims by :mod:`folio_shared.jobs.bookkeeper`); a message
  whose job is finished, cancelled or held by a live worker is skipped
  (acked without running), which makes every redelivery harmless;
- counts attempts in PostgreSQL, so a worker killed mid-job still used an
  attempt; a job whose attempts are used up by crashes is quarantined
  (``dead``, cause ``poison``) instead of killing workers again;
- records the outcome (fenced on the attempt; a plain success without
  its thread waiting, the message's ack held until it is durable:
  :mod:`folio_shared.jobs.acks`): ``succeeded``, a retry
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

import asyncio
import os
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware, SkipMessage

from folio_shared.db.enums import FailureCause
from folio_shared.jobs import family, outage, outbox, reconcile, store, store_asyncpg
from folio_shared.jobs.acks import AckGate, chained
from folio_shared.jobs.bookkeeper import Bookkeeper
from folio_shared.jobs.context import JobContext, reset_current, set_current
from folio_shared.jobs.events import EventSender
from folio_shared.jobs.outcomes import (
    CANCELLED_ERROR,
    STATUS,
    Outcome,
    decide,
    fast_request,
    poison_error,
    record_fast,
    record_in_transaction,
    state_event,
)
from folio_shared.jobs.reserve import Reservations
from folio_shared.jobs.store_batch import ClaimRequest
from folio_shared.logging import get_logger
from folio_shared.resources import resources
from folio_shared.settings import FolioSettings

log = get_logger(__name__)


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
        #: The job events' publisher, open while the worker runs.
        self.events: EventSender | None = None
        #: Claims and outcomes of all worker threads, one statement per round.
        self.bookkeeper = Bookkeeper(self.worker_id, settings.jobs.lease_ms)
        #: The broker's acks held until their outcome is durable, if it has
        #: any (:mod:`folio_shared.jobs.acks`); without, a thread waits.
        self.gate: AckGate | None = None
        #: Jobs claimed as their messages are fetched (through the gate).
        self.reservations = Reservations(self.bookkeeper, self._running_event, undone=self._queued)
        self._running: dict[str, tuple[JobContext, Any]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Coroutine functions the heartbeat also runs, each beat (other
        #: middleware's own heartbeats: the job kinds a worker serves).
        self.beats: list[Callable[[], Awaitable[None]]] = []

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

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        # The id is this worker's for good before its threads start: Dramatiq
        # starts consuming before ``after_worker_boot``, and a job claimed
        # under another id would be skipped by every lease renewal.
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.bookkeeper.worker = self.worker_id
        self.bookkeeper.holding = True
        gate = getattr(broker, "ack_gate", None)
        self.gate = gate if isinstance(gate, AckGate) else None
        if self.gate is not None and self.settings.jobs.early_claims:
            threads = int(getattr(worker, "worker_threads", 8))
            self.reservations.open(broker, self._loop(), limit=2 * threads)
            self.gate.watcher = self.reservations
        # After WorkerResources opened the worker's Redis client.
        self.events = self._run(_open_events())

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        self.broker = broker
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._heartbeat, name="folio-job-heartbeat", daemon=True
        )
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self.reservations.close()  # what is left in the work queue is requeued
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        # Before WorkerResources closes the pool, which waits for it (the
        # consumers, closed before this, waited for their held acks).
        self._run(self.bookkeeper.close())
        if self.gate is not None:
            self.gate.close()
        # Jobs still running here were not finished within the grace period:
        # hand them back now rather than after their lease.
        with self._lock:
            ids = [ctx.job_id for ctx, _ in self._running.values()]
        if ids:
            log.warning("handing back unfinished jobs", count=len(ids))
            self._run(self._release(ids))
        book = self.bookkeeper
        log.info(
            "job bookkeeping",
            claims=book.claims,
            outcomes=book.outcomes,
            statements=book.rounds.batches,
            claimed_early=self.reservations.made,
            undone=self.reservations.undone,
        )
        if self.events is not None:
            # Before WorkerResources closes the Redis client.
            self._run(self.events.close())
            self.events = None

    # -- per message ------------------------------------------------------------

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        job_id = message.options.get("job_id")
        if not job_id:
            return
        request = ClaimRequest(
            uuid.UUID(job_id), bool(message.options.get("continuation")), message.message_id
        )
        early = self.reservations.take(message)
        try:
            claim = (  # claimed as it was fetched, else (or refused there) here
                self.bookkeeper.claimed(early) if early is not None else None
            ) or self.bookkeeper.claim_from_thread(self._loop(), request, self._running_event)
        except outage.UNREACHABLE as e:  # PostgreSQL down: the job stays queued
            outage.hand_back(broker, message, e)
            raise SkipMessage() from None
        if claim is None:
            log.info("message skipped: job not claimable", job_id=job_id)
            raise SkipMessage()
        ctx = JobContext(
            job_id=claim.job_id,
            attempt=claim.attempt,
            tenant_id=claim.tenant_id,
            document_id=claim.document_id,
            parent_id=claim.parent_id,
            continuation=claim.continuation,
            max_retries=self._max_retries(broker, message, claim.max_retries),
            events=self.events,
            batch_id=claim.batch_id,
            cancelled=early is not None and self.reservations.cancel_requested(claim.job_id),
        )
        if not claim.continuation and claim.attempt > ctx.max_retries + 1:
            # Every attempt was used and the job is still being delivered: the
            # earlier ones died with their worker. Quarantine it.
            ctx.quarantined = True
            self._run(self._finish(ctx, Outcome.DEAD, FailureCause.POISON, poison_error(claim)))
            raise SkipMessage()
        token = set_current(ctx)
        with self._lock:
            self._running[message.message_id] = (ctx, token)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._pop(message)
        self.reservations.undo([message])  # skipped before its claim was taken

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        ctx = self._pop(message)
        if ctx is None:  # not claimed (failed before): nor claimed early
            self.reservations.undo([message])
            return
        outcome, cause, error = decide(ctx, result, exception, ctx.max_retries)
        self._local.retry = outcome == Outcome.RETRY
        request = fast_request(self.settings, ctx, outcome, cause, error, result)
        if request is None:
            self._run(self._finish(ctx, outcome, cause, error, result=result))
            return
        # Only the job row changes: straight into the next outcome batch,
        # its event published by the loop once the batch committed.
        data = state_event(ctx, outcome, STATUS[outcome], cause, error)

        def then(recorded: object) -> None:
            if recorded is True:  # not refused by its fence
                self._event(ctx.job_id, "state", data)

        if self.gate is not None and outcome == Outcome.SUCCEEDED and not chained(broker, message):
            # The thread goes on; the message's ack waits for the commit.
            posted = self.bookkeeper.record_later(self._loop(), request, then)
            self.gate.hold(message, posted)
            return
        self.bookkeeper.record_from_thread(self._loop(), request, then)

    # -- decisions -------------------------------------------------------------

    @staticmethod
    def _max_retries(broker: dramatiq.Broker, message: MessageProxy, row_value: int) -> int:
        """The job row's limit, capped by the actor's own ``max_retries``."""
        actor_value = broker.get_actor(message.actor_name).options.get("max_retries")
        return min(row_value, int(actor_value)) if actor_value is not None else row_value

    # -- database work (on the worker's event loop) ------------------------------

    def _run(self, coro: Any) -> Any:
        loop = get_event_loop_thread()
        if loop is None:
            raise RuntimeError("JobTracking needs the AsyncIO middleware")
        return loop.run_coroutine(coro)

    @staticmethod
    def _loop() -> asyncio.AbstractEventLoop:
        thread = get_event_loop_thread()
        if thread is None:
            raise RuntimeError("JobTracking needs the AsyncIO middleware")
        if not thread.loop.is_running():  # as run_coroutine: never wait for nobody
            raise RuntimeError("Event loop is not running.")
        return thread.loop

    def _running_event(self, claim: store.Claim | bool | None) -> None:
        """On the loop, as the claim's round returns: the job's ``running``."""
        if isinstance(claim, store.Claim):
            self._event(claim.job_id, "state", {"status": "running", "attempt": claim.attempt})

    def _queued(self, job_id: uuid.UUID, attempts: int) -> None:  # an early claim undone
        self._event(job_id, "state", {"status": "queued", "attempt": attempts, "unclaimed": True})

    async def _finish(
        self,
        ctx: JobContext,
        outcome: str,
        cause: FailureCause | None,
        error: tuple[str, str] | None,
        *,
        result: Any = None,
    ) -> None:
        completion: dict[str, Any] | None = None
        counted: family.ChildDone | None = None
        status = STATUS[outcome]
        if not await record_fast(
            self.settings, self.bookkeeper, ctx, outcome, cause, error, result
        ):
            completion, counted, outcome = await record_in_transaction(
                self.settings, ctx, outcome, cause, error, result
            )
            if outcome == Outcome.REFUSED:
                return  # another attempt owns the job: nothing to announce
            if outcome == Outcome.CANCELLED:
                status = "cancelled"
                cause, error = FailureCause.CANCELLED, CANCELLED_ERROR
        if counted is not None and ctx.parent_id is not None:
            # The parent's live feed shows its children's progress.
            self._event(
                ctx.parent_id,
                "progress",
                {"stage": "children", "done": counted.done, "total": counted.total},
            )
        if completion is not None and self.broker is not None:
            parent = ctx.job_id if outcome == Outcome.WAITING else ctx.parent_id
            assert parent is not None
            self._send_completion(parent, completion)
        if ctx.batch_completion is not None and self.broker is not None:
            await self._send_batch_completion(ctx.batch_completion)
        self._event(ctx.job_id, "state", state_event(ctx, outcome, status, cause, error))

    def _event(self, job_id: uuid.UUID, type_: str, data: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.send(job_id, type_, data)

    def _send_completion(self, parent_id: uuid.UUID, env: dict[str, Any]) -> None:
        assert self.broker is not None
        try:
            outbox.resend(self.broker, parent_id, env, continuation=True)
        except Exception as e:
            log.warning(
                "completion not sent; the reconciler will", job_id=str(parent_id), error=repr(e)
            )

    async def _send_batch_completion(self, job_id: uuid.UUID) -> None:
        """Send a batch's completion job, written with the outcome that
        finished the batch (the outbox relay sends it if this fails)."""
        assert self.broker is not None
        try:
            async with resources().engine.connect() as conn:
                await outbox.dispatch(conn, self.broker, [job_id])
        except Exception as e:
            log.warning(
                "batch completion not sent; the relay will", job_id=str(job_id), error=repr(e)
            )

    async def _release(self, ids: list[uuid.UUID]) -> None:
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
                held = self.reservations.held()
                if running or held:
                    cancelled = self._run(self._renew([*running, *held]))
                    for job_id in cancelled & running.keys():
                        running[job_id].cancelled = True
                    self.reservations.note_cancelled(cancelled - running.keys())
                for beat in list(self.beats):
                    try:
                        self._run(beat())
                    except Exception as e:
                        log.warning("heartbeat task failed", task=repr(beat), error=repr(e))
                since_reconcile += interval
                if since_reconcile >= self.reconcile_every_s and self.broker is not None:
                    since_reconcile = 0.0
                    self._run(reconcile.run_if_leader(self.broker, self.settings))
            except Exception as e:
                log.warning("job heartbeat failed", error=repr(e))

    async def _renew(self, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        return await store_asyncpg.renew_leases_fast(
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


async def _open_events() -> EventSender:
    sender = EventSender(resources().redis)
    sender.start()
    return sender
