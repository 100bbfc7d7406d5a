"""Jobs claimed as their messages are fetched, before a thread takes them.

A worker thread used to claim its message's job itself: it handed the
claim to the next round of :mod:`folio_shared.jobs.bookkeeper` and waited
for that round before the actor could run. Rounds run one at a time, so
that wait was most of a thread's time for short jobs
(``bench/job_timeline.py``), and each round carried only the few claims
of the threads that happened to wait together.

Here the claim is made where Dramatiq's consumer hands a message out
(:class:`~folio_shared.jobs.acks.GatedConsumer`, on the consumer thread,
through Dramatiq's public ``Consumer`` interface): each fetched message's
claim is *posted* to the next round at once, so the messages of one fetch
go in one or two rounds, and the round has usually committed by the time
a worker thread takes the message from Dramatiq's work queue. The thread
then only picks up the result (:meth:`Reservations.take`), or waits for
what is left of that round.

The claim itself is unchanged: the same statement, fenced by attempt,
counting the attempt, refused for a job held, finished or cancelled. What
changes is when it runs, and ADR 0003's objections to that are met so:

- **Deferred messages.** A message of a kind with a rate or concurrency
  limit is not claimed early (``KindLimits`` decides on the worker thread,
  and a held message must use no attempt), nor is a delayed message, a
  completion step (``continuation``), or one of a delay queue. A message
  claimed early that another middleware then skips (a paused queue's
  ``QueuePause``) has its claim undone before the thread goes on
  (:func:`store_batch.unclaim_many`): the job is ``queued`` again with the
  attempt given back.
- **Messages handed back unrun.** Dramatiq requeues the messages still in
  its work queue when a worker stops; their claims are undone the same way
  as the consumer requeues them (:meth:`Reservations.requeued`).
- **Leases.** A job claimed early holds a lease like a running one, and
  the lease is renewed by the same heartbeat while its message waits in
  the work queue (:meth:`Reservations.held`); a cancel requested meanwhile
  is seen when the thread takes it.
- **Attempts and a killed worker.** A worker killed (SIGKILL, the OOM
  killer) cannot undo anything: the jobs it had claimed early and not
  started used an attempt, as its running jobs did before. At most
  ``limit`` of them: only that many claims wait for a thread at once (by
  default the worker's thread count); further messages are claimed by
  their thread as before.
- **``started_at`` and the ``running`` event** are written with the claim,
  so they now include the time a message waited in its worker's own work
  queue (behind at most ``limit`` others).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterable

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy
from dramatiq.errors import ActorNotFound

from folio_shared.jobs import store_batch
from folio_shared.jobs.bookkeeper import Bookkeeper
from folio_shared.jobs.store import Claim
from folio_shared.jobs.store_batch import ClaimRequest
from folio_shared.jobs.waiters import ThreadWaiter
from folio_shared.logging import get_logger
from folio_shared.resources import resources

log = get_logger(__name__)

#: Actor options that make ``KindLimits`` decide on the worker thread.
_LIMITED = ("rate_limit", "concurrency")

_Waiter = ThreadWaiter[Claim | bool | None]


class Reservations:
    """The claims a worker process made as its consumers fetched, until a
    worker thread takes each (see the module docstring).

    - ``limit``: most claims made early and not yet taken by a thread
      (:meth:`open` sets it to the worker's thread count);
    - ``undo_timeout_s``: longest wait of :meth:`undo`, for the claims'
      round and the undo's statement together (default 5 s);
    - ``then`` and ``undone``: run on the loop as a claim's round returns,
      and for each job (id, attempts) whose claim was undone (the job's
      live ``running`` and ``queued`` events).
    """

    def __init__(
        self,
        bookkeeper: Bookkeeper,
        then: Callable[[Claim | bool | None], None] | None = None,
        limit: int = 8,
        undo_timeout_s: float = 5.0,
        undone: Callable[[uuid.UUID, int], None] | None = None,
    ) -> None:
        self.book = bookkeeper
        self.then = then
        self.on_undone = undone
        self.limit = limit
        self.undo_timeout_s = undo_timeout_s
        self._broker: dramatiq.Broker | None = None
        #: The rounds' loop while claims may be made early.
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Claims made early, by message id, until a thread takes them.
        self._waiting: dict[str, tuple[uuid.UUID, _Waiter]] = {}
        #: Messages fetched to be claimed early, oldest first, while
        #: ``limit`` claims already wait.
        self._line: dict[str, MessageProxy] = {}
        self._cancelled: set[uuid.UUID] = set()
        self._lock = threading.Lock()
        #: Claims made early, and undone (for tests and the benchmark).
        self.made = 0
        self.undone = 0

    def open(self, broker: dramatiq.Broker, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        """Claim early from now on, on ``loop``'s rounds."""
        self._broker, self._loop, self.limit = broker, loop, max(limit, 1)

    def close(self) -> None:
        """Claim no more early (the worker is stopping)."""
        with self._lock:
            self._loop = None
            self._line.clear()

    # -- the consumer's side ------------------------------------------------------

    def fetched(self, message: MessageProxy) -> None:
        """On the consumer's thread, as it hands ``message`` out: post its
        job's claim to the next round if it may be claimed early, or keep
        it in line for a claim once fewer than ``limit`` wait."""
        if self._loop is None or not self._eligible(message):
            return
        with self._lock:
            self._line[message.message_id] = message
            self._top_up()

    def requeued(self, messages: Iterable[MessageProxy]) -> None:
        """Messages given back to Redis unrun: undo their early claims."""
        self.undo(messages)

    def _top_up(self) -> None:
        """Claim the messages in line, oldest first, while fewer than
        ``limit`` claims wait for a thread (under the lock)."""
        loop = self._loop
        while self._line and len(self._waiting) < self.limit and loop is not None:
            message_id = next(iter(self._line))
            message = self._line.pop(message_id)
            job_id = uuid.UUID(message.options["job_id"])
            request = ClaimRequest(job_id, False, message_id, early=True)
            waiter = self.book.claim_soon(loop, request, self.then)
            self._waiting[message_id] = (job_id, waiter)
            self.made += 1

    def _eligible(self, message: MessageProxy) -> bool:
        options = message.options
        if not options.get("job_id") or options.get("continuation") or "eta" in options:
            return False
        if message.queue_name.endswith(".DQ") or self._broker is None:
            return False
        try:
            actor_options = self._broker.get_actor(message.actor_name).options
        except ActorNotFound:
            return False
        return not any(actor_options.get(name) for name in _LIMITED)

    # -- the worker thread's side ---------------------------------------------------

    def take(self, message: MessageProxy) -> _Waiter | None:
        """The early claim of ``message``, if one was made (its result:
        :meth:`Bookkeeper.claimed`); a thread takes it once."""
        with self._lock:
            self._line.pop(message.message_id, None)
            entry = self._waiting.pop(message.message_id, None)
            if entry is not None:
                self._top_up()
        return None if entry is None else entry[1]

    def cancel_requested(self, job_id: uuid.UUID) -> bool:
        """Whether a cancel was requested while the job's message waited."""
        with self._lock:
            if job_id not in self._cancelled:
                return False
            self._cancelled.discard(job_id)
            return True

    def undo(self, messages: Iterable[MessageProxy]) -> None:
        """Give back the early claims of ``messages`` that will not run
        (waits for their round, then for the undo's statement, at most
        ``undo_timeout_s`` in all).

        It runs on the consumer's thread as a stopping worker requeues its
        messages, and on a worker thread: with PostgreSQL unreachable
        without refusing (a partition, a host gone), an unbounded wait
        there hung the worker's stop. A claim not given back in time keeps
        its job ``running`` until its lease ends; the reconciler then sends
        it again (an early claim is never a job's last attempt)."""
        deadline = time.monotonic() + self.undo_timeout_s
        waiters = [w for w in (self.take(m) for m in messages) if w is not None]
        claims: list[Claim] = []
        for waiter in waiters:
            try:
                claim = Bookkeeper.claimed(waiter, max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                log.warning("early claim not known in time; its lease will end it")
                continue
            except Exception as e:  # its round failed: nothing was claimed
                log.warning("early claim failed", error=repr(e))
                continue
            if claim is not None:
                claims.append(claim)
        if not claims:
            return
        loop = _running_loop()
        if loop is None:
            log.warning("early claims not given back; their leases will end", count=len(claims))
            return
        future = asyncio.run_coroutine_threadsafe(self._unclaim(claims), loop)
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
        except Exception as e:  # TimeoutError included: then stop waiting for it
            future.cancel()
            log.warning(
                "early claims not given back; their leases will end",
                count=len(claims),
                error=repr(e),
            )

    async def _unclaim(self, claims: list[Claim]) -> None:
        undone = await store_batch.unclaim_many(
            resources().pg, [(c.job_id, c.attempt) for c in claims], worker=self.book.worker
        )
        self.undone += len(undone)
        if self.on_undone is not None:
            for job_id, attempts in undone:
                self.on_undone(job_id, attempts)

    # -- the heartbeat's side --------------------------------------------------------

    def held(self) -> list[uuid.UUID]:
        """Jobs claimed early whose messages still wait for a thread (their
        leases are renewed with the running jobs')."""
        with self._lock:
            waiters = list(self._waiting.values())
        return [job_id for job_id, w in waiters if isinstance(w.peek(), Claim)]

    def note_cancelled(self, job_ids: Iterable[uuid.UUID]) -> None:
        """Cancels requested for jobs whose messages still wait."""
        with self._lock:
            waiting = {job_id for job_id, _ in self._waiting.values()}
            self._cancelled.update(j for j in job_ids if j in waiting)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The worker's event loop, if it still runs."""
    thread = get_event_loop_thread()
    return None if thread is None or not thread.loop.is_running() else thread.loop
