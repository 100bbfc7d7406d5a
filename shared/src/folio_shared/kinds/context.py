"""What a job kind's function gets besides its payload: the job it runs.

An ``async def`` kind gets a :class:`JobContext`::

    await ctx.progress(0.4, stage="decode")   # also the cancellation point
    ctx.log.info("decoded", frames=n)         # carries job id, kind, tenant
    data = await ctx.read(p.key)              # the input object (tenant's own)
    key = await ctx.write("report.json", body, content_type="application/json")
    return await ctx.fan_out([Part(i=i) for i in range(8)], then=Merge())

A plain ``def`` kind runs in a worker thread and gets a
:class:`SyncJobContext`: the same methods, blocking.

Storage is the tenant's: a job of a tenant reads only keys under
``tenants/<tenant id>/`` and writes under
``tenants/<tenant id>/jobs/<job id>/`` (a job without a tenant: ``jobs/<job id>/``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import dramatiq
import msgspec
import sqlalchemy as sa
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import CurrentMessage

from folio_shared.db.models import Job
from folio_shared.errors import ConfigurationError, Forbidden
from folio_shared.jobs import context as engine
from folio_shared.jobs import family, outbox
from folio_shared.kinds.kind import kind_of
from folio_shared.logging import get_logger
from folio_shared.messages import Priority, logical_of
from folio_shared.resources import resources
from folio_shared.storage import Storage
from folio_shared.storage.files import download
from folio_shared.storage.keys import validate_key

T = TypeVar("T")


@dataclass(frozen=True)
class ChildResult:
    """A child job's end, for the completion step: its index among the
    children, status, result and error."""

    index: int
    job_id: uuid.UUID
    status: str
    result: dict[str, Any] | None
    error: str | None


class _RunningJob:
    """The ids of the running job, for both contexts."""

    job: engine.JobContext

    @property
    def job_id(self) -> uuid.UUID:
        return self.job.job_id

    @property
    def tenant_id(self) -> uuid.UUID | None:
        return self.job.tenant_id

    @property
    def attempt(self) -> int:
        """1 for the first attempt, 2 for the first retry, ..."""
        return self.job.attempt

    @property
    def cancelled(self) -> bool:
        """Whether a cancel was requested (seen by the worker's heartbeat);
        the next ``progress()`` raises."""
        return self.job.cancelled

    def output_key(self, name: str) -> str:
        """Where ``write()`` puts ``name`` (a relative key)."""
        base = f"jobs/{self.job_id}/{name}"
        key = f"tenants/{self.tenant_id}/{base}" if self.tenant_id is not None else base
        return validate_key(key)


class JobContext(_RunningJob):
    """The running job of an ``async def`` kind (see the module doc)."""

    def __init__(self, kind: str, job: engine.JobContext, broker: dramatiq.Broker) -> None:
        self.kind = kind
        self.job = job
        self.broker = broker
        message = CurrentMessage.get_current_message()
        priority = logical_of(message.queue_name)[1] if message is not None else "normal"
        #: The priority the job was sent with (its children's default).
        self.priority = Priority(priority)
        #: A structlog logger carrying the job's ids.
        self.log = get_logger(f"folio.kinds.{kind}").bind(
            kind=kind,
            job_id=str(job.job_id),
            tenant_id=str(job.tenant_id) if job.tenant_id else None,
            attempt=job.attempt,
        )

    @property
    def storage(self) -> Storage:
        """The worker's object store (prefer :meth:`read` and :meth:`write`,
        which keep to the tenant's keys)."""
        return resources().storage

    async def progress(
        self,
        fraction: float | None = None,
        *,
        stage: str | None = None,
        done: int | None = None,
        total: int | None = None,
    ) -> None:
        """Report progress (``fraction`` of 1, or ``done`` of ``total``
        units, and a ``stage``); the job row and its event stream show it.
        Raises :class:`~folio_shared.errors.JobCancelled` when the job was
        cancelled: let it propagate, the job ends ``cancelled``."""
        percent = None if fraction is None else max(0, min(100, round(fraction * 100)))
        await engine.progress(stage, done=done, total=total, percent=percent)

    # -- storage -------------------------------------------------------------------

    def _check_readable(self, key: str) -> str:
        validate_key(key)
        if self.tenant_id is not None and not key.startswith(f"tenants/{self.tenant_id}/"):
            raise Forbidden(
                f"a job of tenant {self.tenant_id} reads only its tenant's objects", key=key
            )
        return key

    async def read(self, key: str) -> bytes:
        """The bytes of object ``key`` (the tenant's own)."""
        return await self.storage.get_bytes(self._check_readable(key))

    async def download(self, key: str, dest: Path) -> Path:
        """Object ``key`` (the tenant's own) streamed to the file ``dest``."""
        return await download(self.storage, self._check_readable(key), dest)

    async def write(self, name: str, data: bytes, *, content_type: str) -> str:
        """Store ``data`` as the job's output ``name``; returns its key."""
        key = self.output_key(name)
        await self.storage.put_bytes(key, data, content_type=content_type)
        return key

    # -- child jobs -------------------------------------------------------------------

    async def fan_out(
        self,
        children: Sequence[msgspec.Struct],
        *,
        then: msgspec.Struct,
        priority: Priority | None = None,
    ) -> Any:
        """Hand the work to child jobs (payloads of declared kinds), with
        ``then`` (a payload of a declared kind) as the completion step: it
        runs once, when every child has ended, as this same job, and its
        result is this job's. Return what this returns from the kind's
        function. A retried attempt never fans out twice."""
        chosen = priority or self.priority
        envs = [kind_of(c).envelope(c, priority=chosen) for c in children]
        res = resources()
        async with res.sessions() as session:
            created = await family.add_child_envelopes(
                session,
                self.job_id,
                envs,
                then=kind_of(then).envelope(then, priority=chosen),
                tenant_id=self.tenant_id,
                priority=chosen,
                max_retries=self.job.max_retries,
            )
            await session.commit()
            ids = outbox.pending_ids(session)
        if created:
            async with res.engine.connect() as conn:
                await outbox.dispatch(conn, self.broker, ids)
        await engine.progress("children", done=0, total=len(envs))
        return family.WAITING

    async def children(self) -> list[ChildResult]:
        """The children of this job, in the order they were fanned out
        (in the completion step: every one has ended)."""
        async with resources().sessions() as session:
            rows = (
                await session.execute(
                    sa.select(
                        Job.id, Job.status, Job.result, Job.error_type, Job.error_message
                    ).where(Job.parent_id == self.job_id)
                )
            ).all()
        order = {family.child_job_id(self.job_id, i): i for i in range(len(rows))}
        found = [
            ChildResult(
                index=order.get(r.id, len(rows)),
                job_id=r.id,
                status=str(r.status),
                result=r.result,
                error=f"{r.error_type}: {r.error_message}" if r.error_type else None,
            )
            for r in rows
        ]
        return sorted(found, key=lambda c: c.index)


class SyncJobContext(_RunningJob):
    """:class:`JobContext` for a plain ``def`` kind: the same methods,
    blocking (each runs on the worker's event loop)."""

    def __init__(self, inner: JobContext) -> None:
        self.inner = inner
        self.job = inner.job
        self.kind = inner.kind
        self.log = inner.log
        self.priority = inner.priority

    @staticmethod
    def _call(coro: Awaitable[T]) -> T:
        loop = get_event_loop_thread()
        if loop is None:
            raise ConfigurationError("a job kind needs the AsyncIO middleware")
        return loop.run_coroutine(coro)

    def progress(
        self,
        fraction: float | None = None,
        *,
        stage: str | None = None,
        done: int | None = None,
        total: int | None = None,
    ) -> None:
        self._call(self.inner.progress(fraction, stage=stage, done=done, total=total))

    def read(self, key: str) -> bytes:
        return self._call(self.inner.read(key))

    def download(self, key: str, dest: Path) -> Path:
        return self._call(self.inner.download(key, dest))

    def write(self, name: str, data: bytes, *, content_type: str) -> str:
        return self._call(self.inner.write(name, data, content_type=content_type))

    def fan_out(
        self,
        children: Sequence[msgspec.Struct],
        *,
        then: msgspec.Struct,
        priority: Priority | None = None,
    ) -> Any:
        return self._call(self.inner.fan_out(children, then=then, priority=priority))

    def children(self) -> list[ChildResult]:
        return self._call(self.inner.children())
