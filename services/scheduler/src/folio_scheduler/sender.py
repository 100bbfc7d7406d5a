"""Creating maintenance jobs from the scheduler's synchronous tick handler.

periodiq calls the scheduler from its main thread, outside any event loop;
the job engine's outbox is async. :class:`JobSender` owns a private event
loop and a database engine on it, and turns one maintenance message into a
job: the job row (``pending``) committed first, then the message sent and
the job marked ``queued``. When the broker is down the job stays
``pending`` and the workers' outbox relay sends it later: a tick is never
lost once its job is committed. Sends are serialised (a lock): periodiq's
thread and the catch-up keeper's share the loop.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import dramatiq
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.engine import create_engine, create_session_factory
from folio_shared.db.models import JobKind
from folio_shared.errors import ConfigurationError
from folio_shared.jobs import outbox
from folio_shared.messages import MaintenanceMessage, Priority
from folio_shared.settings import FolioSettings


class KindNotServed(ConfigurationError):
    """A scheduled job's kind is not in ``job_kinds``: no worker serving
    it has started yet (or the name is wrong)."""

    code = "kind_not_served"


class JobSender:
    """Creates one job per maintenance message, through the outbox.

    - ``settings``: the database to write jobs to.
    - ``broker``: where the messages go.
    - ``max_retries``: retries of a failed maintenance run after its first
      attempt (default: ``FOLIO_JOBS_MAX_RETRIES``).
    """

    def __init__(
        self, settings: FolioSettings, broker: dramatiq.Broker, *, max_retries: int | None = None
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.max_retries = settings.jobs.max_retries if max_retries is None else max_retries
        self._loop = asyncio.new_event_loop()
        self._engine: AsyncEngine | None = None
        self._lock = threading.Lock()

    def send(self, msg: MaintenanceMessage) -> uuid.UUID:
        """Create and send the job of ``msg``; returns its id. Raises when
        the job could not be committed (PostgreSQL unreachable)."""
        with self._lock:
            return self._loop.run_until_complete(self._send(msg))

    async def _send(self, msg: MaintenanceMessage) -> uuid.UUID:
        if self._engine is None:
            self._engine = create_engine(self.settings)
        async with create_session_factory(self._engine)() as session:
            job = await outbox.enqueue(session, msg, max_retries=self.max_retries)
            job_id = job.id
            await session.commit()
            ids = outbox.pending_ids(session)
        async with self._engine.connect() as conn:
            await outbox.dispatch(conn, self.broker, ids)
        return job_id

    def send_kind(
        self,
        job_id: uuid.UUID,
        kind: str,
        payload: dict[str, Any],
        *,
        tenant_id: uuid.UUID | None,
        priority: Priority,
        meta: dict[str, Any],
    ) -> uuid.UUID | None:
        """Create and send job ``job_id`` of ``kind`` (its version and queue
        as the kind's workers recorded them in ``job_kinds``); returns its
        id, or ``None`` when that job exists already. Raises
        :class:`KindNotServed` when no worker declared the kind yet."""
        with self._lock:
            return self._loop.run_until_complete(
                self._send_kind(job_id, kind, payload, tenant_id, priority, meta)
            )

    async def _send_kind(
        self,
        job_id: uuid.UUID,
        kind: str,
        payload: dict[str, Any],
        tenant_id: uuid.UUID | None,
        priority: Priority,
        meta: dict[str, Any],
    ) -> uuid.UUID | None:
        if self._engine is None:
            self._engine = create_engine(self.settings)
        async with create_session_factory(self._engine)() as session:
            row = (await session.execute(sa.select(JobKind).where(JobKind.name == kind))).scalar()
            if row is None:
                raise KindNotServed(f"no worker has declared the job kind {kind!r}", kind=kind)
            env = outbox.kind_envelope(kind, row.version, row.queue, payload, priority=priority)
            retries = row.options.get("max_retries", self.max_retries)
            outbox.enqueue_envelope(
                session,
                env,
                job_id=job_id,
                tenant_id=tenant_id,
                priority=priority,
                max_retries=int(retries),
                meta=meta,
            )
            try:
                await session.commit()
            except IntegrityError:
                # The job of this tick exists: sent by another replica, or
                # before Redis lost the tick's claim.
                return None
            ids = outbox.pending_ids(session)
        async with self._engine.connect() as conn:
            await outbox.dispatch(conn, self.broker, ids)
        return job_id

    def close(self) -> None:
        """Dispose of the engine and the loop (idempotent)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._loop.is_closed():
            return
        if self._engine is not None:
            self._loop.run_until_complete(self._engine.dispose())
            self._engine = None
        self._loop.close()
