"""Group commit of the job engine's claims and outcomes.

Every worker thread of a process hands its claim or outcome to the event
loop thread and waits for it. One statement per job made that thread the
bottleneck (two round trips per job, each with its own parse, bind and
``epoll`` wait). :class:`Bookkeeper` sends the requests waiting at a time,
claims and outcomes together, as one statement
(:mod:`folio_shared.jobs.store_batch`):

- a request goes at once when no statement is in flight (no
  timer: an idle worker pays no added latency); requests that arrive while
  one is in flight wait for it and then go together, up to
  :data:`MAX_BATCH`;
- each request's future resolves only after its statement committed, so a
  thread acks its message only once its outcome is durable;
- a batch holds each job at most once (a second request for the same job
  waits for the next batch), so a row missing from ``RETURNING`` means a
  lost claim or a refused outcome for that request alone;
- what the database writes with a state (webhook deliveries, by triggers
  on ``jobs``) is written per row by the batch's statement, in its
  transaction;
- if PostgreSQL reports a deadlock (a reconciler statement taking the
  same rows in another order), the batch's requests are run one by one.

Worker threads reach it without a coroutine of their own
(:meth:`GroupCommit.call`): a thread appends its request to an inbox and
waits on a lock; the first request of an empty inbox wakes the event loop
once, and the loop takes the whole inbox into the next batch. So a batch
costs the loop one wake-up, not one task and two futures per request (what
Dramatiq's ``run_coroutine`` costs for each call), and a request's
``then`` (the job event of a claim or an outcome) runs on the loop as the
batch returns.

A plain success need not hold its thread at all: :meth:`GroupCommit.post`
hands a request over and returns at once, and what must follow its commit
(the message's ack) waits on the returned
:class:`~folio_shared.jobs.waiters.Posted` instead
(:mod:`folio_shared.jobs.acks`).

The rounds run one at a time, so they hold one connection of the pool
between them rather than taking it from the pool and giving it back for
each: a pool checkout and return cost the event loop about as much CPU as
the round's own statement (``bench/pool_fetch_cost.py``). The connection
goes back to the pool after :data:`ROUNDS_PER_CONNECTION` rounds, when it
failed, and at the worker's shutdown (:meth:`Bookkeeper.close`).

Dramatiq has no batching of middleware work, and the claim has to run
before the actor and the outcome before the ack, on the worker's own
threads; this collects them in the one place they meet, the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

import asyncpg

from folio_shared.jobs import store_batch
from folio_shared.jobs.store import Claim
from folio_shared.jobs.store_batch import ClaimRequest, OutcomeRequest, Request
from folio_shared.jobs.waiters import Posted, Resolver, ThreadWaiter
from folio_shared.logging import get_logger
from folio_shared.resources import resources

log = get_logger(__name__)

#: Most requests in one statement.
MAX_BATCH = 200

#: Rounds a held connection runs before it goes back to the pool (which
#: replaces a connection after its ``max_queries`` statements).
ROUNDS_PER_CONNECTION = 1_000

Req = TypeVar("Req")
Res = TypeVar("Res")

_Item = tuple[Req, "Resolver[Res]", "Callable[[Res], None] | None"]


class GroupCommit(Generic[Req, Res]):
    """Runs requests through ``run`` (a batch in, one result per request
    out, in order), one batch at a time; ``key``: what may appear only
    once in a batch. Use from one event loop only."""

    def __init__(
        self,
        run: Callable[[Sequence[Req]], Awaitable[Sequence[Res]]],
        key: Callable[[Req], Hashable],
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._run = run
        self._key = key
        self._max = max_batch
        self._pending: list[_Item[Req, Res]] = []
        #: Requests of worker threads not yet seen by the loop.
        self._inbox: list[_Item[Req, Res]] = []
        self._inbox_lock = threading.Lock()
        self._woken = False
        self._busy = False
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps weak ones
        #: Statements run and requests carried (for tests and the benchmark).
        self.batches = 0
        self.requests = 0

    async def submit(self, request: Req) -> Res:
        """Run ``request`` from the event loop; returns after its batch."""
        future: asyncio.Future[Res] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future, None))
        self._start()
        return await future

    def call(
        self,
        loop: asyncio.AbstractEventLoop,
        request: Req,
        then: Callable[[Res], None] | None = None,
    ) -> Res:
        """Run ``request`` from a worker thread (not ``loop``'s own);
        returns after its batch. ``then`` runs on the loop with the result
        as the batch returns (not when the batch failed)."""
        return self.start(loop, request, then).wait()

    def start(
        self,
        loop: asyncio.AbstractEventLoop,
        request: Req,
        then: Callable[[Res], None] | None = None,
    ) -> ThreadWaiter[Res]:
        """:meth:`call` without the wait: hand ``request`` to the next
        batch from any thread but the loop's and return at once; any
        thread may then wait for its result on the returned waiter."""
        waiter: ThreadWaiter[Res] = ThreadWaiter()
        self._put(loop, (request, waiter, then))
        return waiter

    def post(
        self,
        loop: asyncio.AbstractEventLoop,
        request: Req,
        then: Callable[[Res], None] | None = None,
    ) -> Posted:
        """Hand ``request`` to the next batch from a worker thread and
        return at once; the :class:`Posted` tells when its batch ended."""
        posted = Posted()
        self._put(loop, (request, posted, then))
        return posted

    def _put(self, loop: asyncio.AbstractEventLoop, item: _Item[Req, Res]) -> None:
        with self._inbox_lock:
            self._inbox.append(item)
            wake, self._woken = not self._woken, True
        if wake:
            loop.call_soon_threadsafe(self._admit)

    async def settle(self, timeout_s: float = 5.0) -> None:
        """Wait (up to ``timeout_s``) for the batch in flight, if any."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=timeout_s)

    def _admit(self) -> None:
        self._take_inbox()
        if self._pending:
            self._start()

    def _take_inbox(self) -> None:
        with self._inbox_lock:
            inbox, self._inbox, self._woken = self._inbox, [], False
        self._pending.extend(inbox)

    def _start(self) -> None:
        if not self._busy:
            self._busy = True
            self._task = asyncio.get_running_loop().create_task(self._drain())

    def _take(self) -> list[_Item[Req, Res]]:
        self._take_inbox()
        batch: list[_Item[Req, Res]] = []
        rest: list[_Item[Req, Res]] = []
        seen: set[Hashable] = set()
        for item in self._pending:
            if item[1].done():  # its waiter is gone (cancelled, interrupted)
                continue
            key = self._key(item[0])
            if key in seen or len(batch) >= self._max:
                rest.append(item)
            else:
                seen.add(key)
                batch.append(item)
        self._pending = rest
        return batch

    async def _drain(self) -> None:
        try:
            while True:
                batch = self._take()
                if not batch:
                    break
                await self._send(batch)
        finally:
            self._busy = False

    async def _send(self, batch: list[_Item[Req, Res]]) -> None:
        self.batches += 1
        self.requests += len(batch)
        try:
            results = await self._one_batch([r for r, _, _ in batch])
        except BaseException as e:
            for _, future, _ in batch:
                if future.done():
                    continue
                if isinstance(future, asyncio.Future) and not isinstance(e, Exception):
                    future.cancel()  # the loop is stopping
                else:
                    future.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return
        for (_, future, then), result in zip(batch, results, strict=True):
            if then is not None:
                try:
                    then(result)
                except Exception as e:
                    log.warning("job bookkeeping follow-up failed", error=repr(e))
            if not future.done():
                future.set_result(result)

    async def _one_batch(self, requests: list[Req]) -> Sequence[Res]:
        try:
            return await self._run(requests)
        except asyncpg.exceptions.DeadlockDetectedError:
            if len(requests) == 1:
                raise
        # one by one: each statement then takes a single row lock
        return [(await self._run([r]))[0] for r in requests]


class Bookkeeper:
    """The claims and outcomes of one worker process, in rounds: whatever
    claims and outcomes wait together go as one statement
    (:func:`store_batch.run_round`), so a thread's outcome and another
    thread's next claim share a round trip, and the event loop wakes once
    for both."""

    def __init__(
        self,
        worker: str,
        lease_ms: int,
        pool: Callable[[], asyncpg.Pool] = lambda: resources().pg,
    ) -> None:
        self.worker = worker
        self.lease_ms = lease_ms
        self.rounds: GroupCommit[Request, Claim | bool | None] = GroupCommit(self._run, key=_job_id)
        #: Claims and outcomes sent (for the shutdown log and the benchmark).
        self.claims = 0
        self.outcomes = 0
        self._pool = pool
        #: The connection the rounds hold, its pool, and the rounds it ran.
        self._held: tuple[asyncpg.Pool, Any] | None = None
        self._held_rounds = 0
        #: Whether rounds hold a connection; :meth:`close` turns it off (a
        #: round after it takes one from the pool and gives it back).
        self.holding = True

    async def claim(self, request: ClaimRequest) -> Claim | None:
        """Claim the job (see :func:`store.claim`), fenced as alone."""
        result = await self.rounds.submit(request)
        return result if isinstance(result, Claim) else None

    async def record(self, request: OutcomeRequest) -> bool:
        """Record a success or a retried failure; ``False`` when the fence
        refused it. Returns after the outcome committed."""
        return await self.rounds.submit(request) is True

    def claim_from_thread(
        self,
        loop: asyncio.AbstractEventLoop,
        request: ClaimRequest,
        then: Callable[[Claim | bool | None], None] | None = None,
    ) -> Claim | None:
        """:meth:`claim` from a worker thread (see :meth:`GroupCommit.call`)."""
        result = self.rounds.call(loop, request, then)
        return result if isinstance(result, Claim) else None

    def claim_soon(
        self,
        loop: asyncio.AbstractEventLoop,
        request: ClaimRequest,
        then: Callable[[Claim | bool | None], None] | None = None,
    ) -> ThreadWaiter[Claim | bool | None]:
        """:meth:`claim_from_thread` without the wait (a message claimed as
        it is fetched, :mod:`folio_shared.jobs.reserve`): the worker thread
        that runs the message waits for it later, with :meth:`claimed`."""
        return self.rounds.start(loop, request, then)

    @staticmethod
    def claimed(
        waiter: ThreadWaiter[Claim | bool | None], timeout_s: float | None = None
    ) -> Claim | None:
        """The claim :meth:`claim_soon` made, once its round committed
        (:class:`TimeoutError` after ``timeout_s``, if given)."""
        result = waiter.wait(timeout_s)
        return result if isinstance(result, Claim) else None

    def record_from_thread(
        self,
        loop: asyncio.AbstractEventLoop,
        request: OutcomeRequest,
        then: Callable[[Claim | bool | None], None] | None = None,
    ) -> bool:
        """:meth:`record` from a worker thread (see :meth:`GroupCommit.call`)."""
        return self.rounds.call(loop, request, then) is True

    def record_later(
        self,
        loop: asyncio.AbstractEventLoop,
        request: OutcomeRequest,
        then: Callable[[Claim | bool | None], None] | None = None,
    ) -> Posted:
        """:meth:`record_from_thread` without the wait: the thread goes on
        at once, and whatever must follow the outcome's commit (the
        message's ack) waits on the returned :class:`Posted` instead."""
        return self.rounds.post(loop, request, then)

    async def close(self) -> None:
        """Give the held connection back to its pool once the round in
        flight ended (call it before the pool closes: a pool waits for its
        connections)."""
        self.holding = False
        await self.rounds.settle()
        await self._give_back()

    async def _give_back(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        if not _usable(held[1]):
            return  # the pool took it back when the server ended it
        try:
            await held[0].release(held[1])
        except Exception as e:
            log.warning("job bookkeeping connection not given back", error=repr(e))

    async def _connection(self) -> Any:
        pool = self._pool()
        held = self._held
        if held is not None and (held[0] is not pool or not _usable(held[1])):
            await self._give_back()
            held = None
        if held is None:
            held = self._held = (pool, await pool.acquire())
            self._held_rounds = 0
        return held[1]

    async def _run(self, requests: Sequence[Request]) -> list[Claim | bool | None]:
        claims = sum(1 for r in requests if isinstance(r, ClaimRequest))
        self.claims += claims
        self.outcomes += len(requests) - claims
        if not self.holding:
            return await store_batch.run_round(
                self._pool(), requests, worker=self.worker, lease_ms=self.lease_ms
            )
        conn = await self._connection()
        try:
            results = await store_batch.run_round(
                conn, requests, worker=self.worker, lease_ms=self.lease_ms
            )
        except asyncpg.PostgresError:
            raise  # the server refused the statement: the connection is fine
        except BaseException:
            await self._give_back()  # broken or interrupted: the pool decides
            raise
        self._held_rounds += 1
        if self._held_rounds >= ROUNDS_PER_CONNECTION:
            await self._give_back()
        return results


def _usable(conn: Any) -> bool:
    """Whether a connection of the pool is still open and ours."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:  # released: the pool took it back
        return False


def _job_id(request: Request) -> Hashable:
    return request.job_id
