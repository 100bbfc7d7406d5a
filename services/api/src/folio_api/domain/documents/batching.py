"""Queuing concurrent ``process`` requests of one API process together.

Each ``POST /v1/documents/{id}/process`` on a stored document costs two
statements and one Redis round trip (:mod:`.queueing`). Under load, most of
that cost is per statement and per round trip, not per document: one at a
time, a request cost the API ~480 µs and PostgreSQL ~1,000 µs of CPU; in
batches of 16, ~90 µs and ~240 µs per document (same machine, same
statements over arrays). So requests that arrive while earlier ones are in
flight wait for the next batch: one :data:`~.queueing.READ`, one
:data:`~.queueing.INSERT`, one Redis pipeline of sends. A request
that arrives when a batch slot is free goes at once, alone: batching adds
no wait when the API is idle, and batches grow only with the load.

Every request gets the answer it would get alone: the document's active
job if it has one, 404 if there is no such document of the tenant, the ORM
path for presigned uploads, and a read again (in a later batch) if the row
changed between the read and the write. Requests for the same document in
one batch share one new job, as racing requests would.
A failed send puts that job back to ``pending`` for the outbox relay.
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import dramatiq

from folio_api.domain.documents import queueing
from folio_shared import metrics
from folio_shared.db.enums import DocumentStatus, JobStatus
from folio_shared.db.models import Document, Job
from folio_shared.jobs.send import AsyncSender
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: ``prepare(document, job_id)``: the job's outbox envelope and its message.
Prepare = Callable[[Document, uuid.UUID], tuple[dict[str, Any], dramatiq.Message[Any]]]


class Outcome(enum.Enum):
    """How a request left its batch."""

    QUEUED = "queued"  # a job: the new one, or the document's active one
    NOT_FOUND = "not_found"  # no such document of the tenant
    AWAITING_UPLOAD = "awaiting_upload"  # a presigned upload: the ORM path checks it
    CHANGED = "changed"  # the row changed before the write: read again


@dataclass
class Request:
    """One request to queue a document's processing."""

    tenant_id: uuid.UUID
    document_id: uuid.UUID
    prepare: Prepare
    priority: str
    max_retries: int
    future: asyncio.Future[tuple[Outcome, Document | None, Job | None]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def answer(self, outcome: Outcome, document: Document | None, job: Job | None) -> None:
        if not self.future.done():  # a cancelled request still gets its job queued
            self.future.set_result((outcome, document, job))


class QueueBatcher:
    """Coalesces :class:`Request` s into batches on ``pool`` and ``sender``.

    - ``max_batch``: most requests per batch (default 64).
    - ``max_in_flight``: batches run at the same time (default 4; each holds
      one pool connection while it runs).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: AsyncSender,
        *,
        max_batch: int = 64,
        max_in_flight: int = 4,
    ) -> None:
        self.pool = pool
        self.sender = sender
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._waiting: list[Request] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def queue(self, request: Request) -> tuple[Outcome, Document | None, Job | None]:
        """Queue ``request`` in the next batch; its outcome, the document as
        read or updated, and the job that answers it."""
        self._waiting.append(request)
        if self._running < self.max_in_flight:
            self._running += 1
            task = asyncio.get_running_loop().create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(request.future)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                try:
                    await self._run(batch)
                except Exception as e:  # every request of the batch gets the error
                    for request in batch:
                        if not request.future.done():
                            request.future.set_exception(e)
        finally:
            self._running -= 1

    async def _run(self, batch: list[Request]) -> None:
        metrics.API_QUEUE_BATCH_SIZE.observe(len(batch))
        groups: dict[tuple[uuid.UUID, uuid.UUID], list[Request]] = {}
        for request in batch:
            groups.setdefault((request.document_id, request.tenant_id), []).append(request)
        async with self.pool.acquire() as conn:
            rows = await queueing.read(conn, list({k[0] for k in groups}))
            # a row of another tenant than the request's is not found for it
            found = {(row["d_id"], row["d_tenant_id"]): row for row in rows}
            writes: list[_Write] = []
            for key, requests in groups.items():
                row = found.get(key)
                if row is None:
                    _answer(requests, Outcome.NOT_FOUND, None, None)
                    continue
                document = queueing.document_of(row)
                active = queueing.job_of(row)
                if active is not None:
                    _answer(requests, Outcome.QUEUED, document, active)
                elif document.status == DocumentStatus.AWAITING_UPLOAD:
                    _answer(requests, Outcome.AWAITING_UPLOAD, document, None)
                else:
                    writes.append(_Write.of(requests, document, row["d_version"]))
            if writes:
                await self._write(conn, writes)

    async def _write(self, conn: asyncpg.Connection, writes: list[_Write]) -> None:
        try:
            jobs = await queueing.insert(conn, [w.row for w in writes])
        except asyncpg.DeadlockDetectedError:
            jobs = {}  # not expected (rows are locked in id order): read again
        done: list[tuple[_Write, Job]] = []
        for w in writes:
            job = jobs.get(w.row.document.id)
            if job is None:
                _answer(w.requests, Outcome.CHANGED, None, None)
            else:
                done.append((w, job))
        if not done:
            return
        try:
            errors = await self.sender.send_many([w.message for w, _ in done])
        except Exception as e:  # Redis down: every job of the batch
            errors = [e] * len(done)
        unsent = [job for (_, job), error in zip(done, errors, strict=True) if error is not None]
        if unsent:
            log.warning(
                "send failed; the outbox relay will send",
                jobs=len(unsent),
                error=repr(next(e for e in errors if e is not None)),
            )
            await queueing.unsent(conn, [job.id for job in unsent])
            for job in unsent:
                job.status = JobStatus.PENDING
        for w, job in done:
            _answer(w.requests, Outcome.QUEUED, w.row.document, job)


@dataclass
class _Write:
    """The requests of one document, its :class:`~.queueing.Write` and message."""

    requests: list[Request]
    row: queueing.Write
    message: dramatiq.Message[Any]

    @classmethod
    def of(cls, requests: list[Request], document: Document, version: str) -> _Write:
        """The first request decides the job's options (as the first of
        racing requests would, one at a time)."""
        first = requests[0]
        job_id = uuid.uuid4()
        envelope, message = first.prepare(document, job_id)
        row = queueing.Write(
            document=document,
            version=version,
            job_id=job_id,
            envelope=envelope,
            priority=first.priority,
            max_retries=first.max_retries,
            message_id=message.message_id,
        )
        return cls(requests, row, message)


def _answer(
    requests: list[Request], outcome: Outcome, document: Document | None, job: Job | None
) -> None:
    for request in requests:
        request.answer(outcome, document, job)
