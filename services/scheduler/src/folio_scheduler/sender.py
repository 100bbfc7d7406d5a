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

import dramatiq
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.engine import create_engine, create_session_factory
from folio_shared.jobs import outbox
from folio_shared.messages import MaintenanceMessage
from folio_shared.settings import FolioSettings


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
