"""Queuing concurrent ``process`` requests of one API process together.

Each ``POST /v1/documents/{id}/process`` on a stored document costs two
statements and one Redis round trip (:mod:`.queueing`). Most of that cost
is per statement and per round trip, not per document: one at a time, the
two statements cost PostgreSQL ~465 µs and the API ~270 µs of CPU; in
batches of 4, ~165 µs and ~80 µs per document. So requests are queued in
batches, in two stages that overlap:

1. **Write**: one :data:`~.queueing.READ` and one :data:`~.queueing.INSERT`
   for every request waiting. One batch at a time (group commit): the
   requests that arrive while it runs form the next one, so batches grow
   with the load and an idle API writes each request at once. A batch
   that runs longer than ``overlap_after_ms`` (a row lock held elsewhere,
   a slow disk) lets another one start, up to ``max_in_flight``.
2. **Send**: one Redis round trip for the messages of every job written
   and not yet sent (:meth:`~folio_shared.jobs.send.AsyncSender.send_many`),
   one at a time, while the next batch is being written.

A request is answered once its job's message is sent (or has failed to
send: the job is then back to ``pending`` and the answer says so).
Every request gets the answer it would get alone: the document's active
job if it has one, 404 if there is no such document of the tenant, the ORM
path for presigned uploads, and a read again (in a later batch) if the row
changed between the read and the write. Requests for the same document in
one batch share one new job, as racing requests would.
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import dramatiq

from folio_api.domain.documents.fast import queueing
from folio_api.domain.documents.schemas import DocumentFields
from folio_api.domain.jobs.schemas import JobFields
from folio_shared import metrics
from folio_shared.db.enums import DocumentStatus, JobStatus
from folio_shared.jobs import outbox
from folio_shared.jobs.send import AsyncSender
from folio_shared.logging import get_logger
from folio_shared.telemetry import trace_carrier, trace_send

log = get_logger(__name__)


class Outcome(enum.Enum):
    """How a request left its batch."""

    QUEUED = "queued"  # a job: the new one, or the document's active one
    NOT_FOUND = "not_found"  # no such document of the tenant
    AWAITING_UPLOAD = "awaiting_upload"  # a presigned upload: the ORM path checks it
    CHANGED = "changed"  # queued by another request meanwhile: ask again


#: A request's outcome, the document as read or updated, and the job that answers it.
Answer = tuple[Outcome, DocumentFields | None, JobFields | None]


@dataclass
class Request:
    """One request to queue a document's processing (``ask``), or to send
    the message of a job written already (no ``ask``: an upload's)."""

    ask: queueing.Ask | None = None
    #: the trace context of the request, for its message: the batch runs in
    #: a task of its own, whose context is another request's
    trace: dict[str, str] = field(default_factory=trace_carrier)
    future: asyncio.Future[Answer] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def answer(
        self, outcome: Outcome, document: DocumentFields | None, job: JobFields | None
    ) -> None:
        if not self.future.done():  # a cancelled request still gets its job queued
            self.future.set_result((outcome, document, job))


class QueueBatcher:
    """Coalesces :class:`Request` s into batches on ``pool`` and ``sender``.

    - ``max_batch``: most requests per write batch (default 64).
    - ``max_in_flight``: most write batches at the same time (default 4;
      each holds one pool connection while it runs).
    - ``overlap_after_ms``: how long a write batch runs alone before the
      next may start beside it (default 5 ms).
    - ``max_send``: most messages per Redis round trip (default 256).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: AsyncSender,
        *,
        max_batch: int = 64,
        max_in_flight: int = 4,
        overlap_after_ms: float = 5.0,
        max_send: int = 256,
    ) -> None:
        self.pool = pool
        self.sender = sender
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self.overlap_after_s = overlap_after_ms / 1000
        self.max_send = max_send
        self._waiting: list[Request] = []
        #: loop time each running write batch started at
        self._started: list[float] = []
        self._to_send: list[_Sent] = []
        self._sending = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def queue(
        self, request: Request
    ) -> tuple[Outcome, DocumentFields | None, JobFields | None]:
        """Queue ``request`` in the next batch; its outcome, the document as
        read or updated, and the job that answers it."""
        self._waiting.append(request)
        self._kick()
        # not shielded: a request given up on (the client left) cancels its
        # future only; its job is still queued and sent with its batch
        return await request.future

    async def send(self, document: DocumentFields, job: JobFields) -> Answer:
        """Send the message of ``job``, written ``queued`` elsewhere (an
        upload's, :data:`~.queueing.STORE`), with the next send batch:
        answered like a queued request (``job`` back to ``pending`` if the
        send failed)."""
        request = Request()
        self._to_send.append(([request], document, job))
        self._start_sending()
        return await request.future

    def _may_start(self) -> bool:
        """Requests wait, and no write batch runs, or the youngest running
        one has run ``overlap_after_ms`` (and fewer than ``max_in_flight`` do)."""
        if not self._waiting or len(self._started) >= self.max_in_flight:
            return False
        if not self._started:
            return True
        return asyncio.get_running_loop().time() - max(self._started) >= self.overlap_after_s

    def _kick(self) -> None:
        if self._may_start():
            self._spawn(self._drain(self._claim()))

    def _claim(self) -> float:
        """Take a write slot (before the task that uses it runs, so two
        requests arriving in one loop turn never start two batches)."""
        started = asyncio.get_running_loop().time()
        self._started.append(started)
        return started

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, started: float) -> None:
        """Write batches in the slot taken at ``started`` while requests
        wait and no younger batch runs (that one takes them when it ends)."""
        loop = asyncio.get_running_loop()
        while True:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            # the requests that arrive meanwhile may not wait for a slow batch
            timer = loop.call_later(self.overlap_after_s, self._kick)
            try:
                if batch:
                    await self._run(batch)
            except Exception as e:  # every request of the batch gets the error
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(e)
            finally:
                timer.cancel()
                self._started.remove(started)
            if not self._may_start():
                return
            started = self._claim()

    async def _run(self, batch: list[Request]) -> None:
        metrics.API_QUEUE_BATCH_SIZE.observe(len(batch))
        # requests of one document share its job (the first one's ask)
        groups: dict[tuple[uuid.UUID, uuid.UUID], list[Request]] = {}
        for request in batch:
            ask = _ask(request)
            groups.setdefault((ask.document_id, ask.tenant_id), []).append(request)
        async with self.pool.acquire() as conn:
            found = await queueing.queue(conn, [_ask(requests[0]) for requests in groups.values()])
        for (document_id, tenant_id), requests in groups.items():
            queued = found.get(document_id)
            if queued is None or queued.document.tenant_id != tenant_id:
                _answer(requests, Outcome.NOT_FOUND, None, None)
            elif queued.active is not None:
                _answer(requests, Outcome.QUEUED, queued.document, queued.active)
            elif queued.new is not None:
                self._to_send.append((requests, queued.document, queued.new))
            elif queued.document.status == DocumentStatus.AWAITING_UPLOAD:
                _answer(requests, Outcome.AWAITING_UPLOAD, queued.document, None)
            else:
                _answer(requests, Outcome.CHANGED, None, None)
        self._start_sending()

    def _start_sending(self) -> None:
        if self._to_send and not self._sending:
            self._sending = True
            self._spawn(self._send())

    async def _send(self) -> None:
        """Send what the write stage wrote, one Redis round trip at a time."""
        try:
            while self._to_send:
                done = self._to_send[: self.max_send]
                del self._to_send[: self.max_send]
                try:
                    await self._send_batch(done)
                except Exception as e:  # the database failed marking sends failed
                    for requests, _, _ in done:
                        for request in requests:
                            if not request.future.done():
                                request.future.set_exception(e)
        finally:
            self._sending = False

    async def _send_batch(self, done: list[_Sent]) -> None:
        try:
            errors = await self.sender.send_many([_message(r, job) for r, _, job in done])
        except Exception as e:  # Redis down: every job of the batch
            errors = [e] * len(done)
        unsent = [job for (_, _, job), error in zip(done, errors, strict=True) if error is not None]
        if unsent:
            log.warning(
                "send failed; the outbox relay will send",
                jobs=len(unsent),
                error=repr(next(e for e in errors if e is not None)),
            )
            async with self.pool.acquire() as conn:
                await queueing.unsent(conn, [job.id for job in unsent])
            for job in unsent:
                job.status = JobStatus.PENDING
        for requests, document, job in done:
            _answer(requests, Outcome.QUEUED, document, job)


#: A job queued and its message not sent yet: its requests, document, job.
_Sent = tuple[list[Request], DocumentFields, JobFields]


def _message(requests: list[Request], job: JobFields) -> dramatiq.Message[Any]:
    """The Dramatiq message of ``job`` as stored, sent in the trace of the
    first request (whose ask it was)."""
    assert job.message is not None
    message = outbox.to_dramatiq(job.id, job.message, message_id=job.message_id)
    trace_send(message, requests[0].trace)
    return message


def _ask(request: Request) -> queueing.Ask:
    assert request.ask is not None
    return request.ask


def _answer(
    requests: list[Request],
    outcome: Outcome,
    document: DocumentFields | None,
    job: JobFields | None,
) -> None:
    for request in requests:
        request.answer(outcome, document, job)
