"""Group commit of the job engine's claims and outcomes.

Every worker thread of a process hands its claim or outcome to the event
loop thread and waits for it. One statement per job made that thread the
bottleneck (two round trips per job, each with its own parse, bind and
``epoll`` wait). :class:`Bookkeeper` sends the requests waiting at a time
as one statement (:mod:`folio_shared.jobs.store_batch`):

- a request goes at once when no statement of its kind is in flight (no
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

Dramatiq has no batching of middleware work, and the claim has to run
before the actor and the outcome before the ack, on the worker's own
threads; this collects them in the one place they meet, the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

import asyncpg

from folio_shared.jobs import store_batch
from folio_shared.jobs.store import Claim
from folio_shared.jobs.store_batch import ClaimRequest, OutcomeRequest
from folio_shared.resources import resources

#: Most requests in one statement.
MAX_BATCH = 200

Req = TypeVar("Req")
Res = TypeVar("Res")


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
        self._pending: list[tuple[Req, asyncio.Future[Res]]] = []
        self._busy = False
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps weak ones
        #: Statements run and requests carried (for tests and the benchmark).
        self.batches = 0
        self.requests = 0

    async def submit(self, request: Req) -> Res:
        future: asyncio.Future[Res] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if not self._busy:
            self._busy = True
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    def _take(self) -> list[tuple[Req, asyncio.Future[Res]]]:
        batch: list[tuple[Req, asyncio.Future[Res]]] = []
        rest: list[tuple[Req, asyncio.Future[Res]]] = []
        seen: set[Hashable] = set()
        for item in self._pending:
            if item[1].done():  # its waiter is gone (cancelled)
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
            while self._pending:
                batch = self._take()
                if batch:
                    await self._send(batch)
        finally:
            self._busy = False

    async def _send(self, batch: list[tuple[Req, asyncio.Future[Res]]]) -> None:
        self.batches += 1
        self.requests += len(batch)
        try:
            results = await self._one_batch([r for r, _ in batch])
        except Exception as e:
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        for (_, future), result in zip(batch, results, strict=True):
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
    """The claims and outcomes of one worker process, in batches."""

    def __init__(self, worker: str, lease_ms: int) -> None:
        self.worker = worker
        self.lease_ms = lease_ms
        self.claims: GroupCommit[ClaimRequest, Claim | None] = GroupCommit(
            self._claim_many, key=lambda r: r.job_id
        )
        self.outcomes: GroupCommit[OutcomeRequest, bool] = GroupCommit(
            self._record_many, key=lambda r: r.job_id
        )

    async def claim(self, request: ClaimRequest) -> Claim | None:
        """Claim the job (see :func:`store.claim`), fenced as alone."""
        return await self.claims.submit(request)

    async def record(self, request: OutcomeRequest) -> bool:
        """Record a success or a retried failure; ``False`` when the fence
        refused it. Returns after the outcome committed."""
        return await self.outcomes.submit(request)

    async def _claim_many(self, requests: Sequence[ClaimRequest]) -> list[Claim | None]:
        return await store_batch.claim_many(
            resources().pg, requests, worker=self.worker, lease_ms=self.lease_ms
        )

    async def _record_many(self, requests: Sequence[OutcomeRequest]) -> list[bool]:
        return await store_batch.record_many(resources().pg, requests)
