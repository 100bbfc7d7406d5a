"""What a worker tells PostgreSQL about the kinds it serves (and the
middleware that serves them).

At start a worker upserts one ``job_kinds`` row per kind it serves (name,
payload version, payload and result JSON schemas, queue, options,
description), so the API validates a job's payload without importing the
user's code, and one ``job_kind_workers`` row per kind for itself. Its
heartbeat refreshes ``seen_at`` every :data:`HEARTBEAT_S` seconds; a
worker is *live* while ``seen_at`` is within :data:`LIVE_WITHIN_S`. A
worker that stops deletes its rows; one that dies leaves them to age.

The latest worker to start wins: two workers serving different versions
of a kind leave the row of the one that started last (deploy a new major
version with ``also=`` for the old one, so either worker decodes both).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import dramatiq
import sqlalchemy as sa
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from folio_shared.db.models import JobKind, JobKindWorker
from folio_shared.errors import ConfigurationError
from folio_shared.jobs.middleware import JobTracking
from folio_shared.kinds.actors import bind_all
from folio_shared.kinds.kind import Kind, declared
from folio_shared.logging import get_logger
from folio_shared.messages import physical_queue_names
from folio_shared.resources import resources

log = get_logger(__name__)

#: How often a worker refreshes its ``job_kind_workers.seen_at``, in seconds
#: (at JobTracking's heartbeats: every ``min(jobs.lease_ms / 3,
#: jobs.reconcile_interval_ms)``, 10 s by default, if that is longer).
HEARTBEAT_S = 10.0
#: A worker whose ``seen_at`` is older than this is not live (6 heartbeats:
#: the API's ``GET /v1/job-types`` counts the live ones).
LIVE_WITHIN_S = 6 * HEARTBEAT_S


def kind_row(kind: Kind) -> dict[str, Any]:
    """The ``job_kinds`` row of ``kind``."""
    return {
        "name": kind.name,
        "version": kind.version,
        "queue": kind.queue,
        "payload_schema": kind.payload_schema(),
        "result_schema": kind.result_schema(),
        "options": kind.options.as_json(),
        "description": kind.description,
    }


async def record_kinds(
    conn: AsyncConnection, kinds: Sequence[Kind], *, worker: str | None = None
) -> None:
    """Upsert the rows of ``kinds``, and of ``worker`` serving them when
    given (commit is the caller's)."""
    if not kinds:
        return
    rows = [kind_row(k) for k in kinds]
    stmt = insert(JobKind).values(rows)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[JobKind.name],
            set_={
                "version": stmt.excluded.version,
                "queue": stmt.excluded.queue,
                "payload_schema": stmt.excluded.payload_schema,
                "result_schema": stmt.excluded.result_schema,
                "options": stmt.excluded.options,
                "description": stmt.excluded.description,
                "updated_at": sa.func.now(),
            },
        )
    )
    if worker is None:
        return
    served = insert(JobKindWorker).values([{"kind": k.name, "worker": worker} for k in kinds])
    await conn.execute(
        served.on_conflict_do_update(
            index_elements=[JobKindWorker.kind, JobKindWorker.worker],
            set_={"started_at": sa.func.now(), "seen_at": sa.func.now()},
        )
    )


async def heartbeat(conn: AsyncConnection, *, worker: str) -> int:
    """Refresh ``seen_at`` of ``worker``'s rows; returns how many."""
    result = await conn.execute(
        sa.update(JobKindWorker).where(JobKindWorker.worker == worker).values(seen_at=sa.func.now())
    )
    return int(result.rowcount or 0)


async def forget(conn: AsyncConnection, *, worker: str) -> None:
    await conn.execute(sa.delete(JobKindWorker).where(JobKindWorker.worker == worker))


class KindWorkers(Middleware):
    """Serves job kinds: binds them as actors when the worker boots,
    records them in PostgreSQL, and keeps this worker's rows fresh.

    - ``kinds``: the kinds to serve (default: every kind declared in the
      process by then whose queue the worker consumes, so that the worker
      module may come before the modules declaring them);
    - ``heartbeat_s``: how often ``seen_at`` is refreshed (:data:`HEARTBEAT_S`;
      at JobTracking's heartbeats, every ``jobs.lease_ms`` / 3 at most).

    Placement: before :class:`JobTracking`, whose worker id (the one job
    rows carry in ``worker``) it uses: its ``after_worker_boot`` then runs
    after JobTracking's (Dramatiq runs ``after_*`` hooks in reverse order).
    """

    def __init__(
        self, kinds: Sequence[Kind] | None = None, *, heartbeat_s: float = HEARTBEAT_S
    ) -> None:
        self.kinds = list(kinds) if kinds is not None else None
        self.heartbeat_s = heartbeat_s
        self.worker = ""
        self._seen_at = 0.0
        self._tracking: JobTracking | None = None
        #: Set once the worker stops: a heartbeat that finds no row then
        #: must not record them again (the stop deleted them, not a purge).
        self._stopping = False

    def served(self, worker: Any) -> list[Kind]:
        """The kinds this worker serves."""
        if self.kinds is not None:
            return self.kinds
        consumed = getattr(worker, "consumer_whitelist", None)
        return [
            k
            for k in declared().values()
            if not consumed or set(physical_queue_names(k.queue)) & set(consumed)
        ]

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        # Before the worker adds its consumers: the kinds' queues are declared by then.
        self.kinds = self.served(worker)
        if not self.kinds:
            raise ConfigurationError("this worker serves no job kind: check --jobs and --queues")
        bind_all(self.kinds, broker)
        # The kinds' rows before the first job runs: the API may take them at once.
        self._run(self._record(None))

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        tracking = next((m for m in broker.middleware if isinstance(m, JobTracking)), None)
        if tracking is None:
            raise RuntimeError("KindWorkers needs the JobTracking middleware")
        self.worker = tracking.worker_id
        self._run(self._record(self.worker))
        self._seen_at = time.monotonic()
        log.info("serving job kinds", kinds=[k.name for k in self.served(worker)])
        # JobTracking's heartbeat thread refreshes the rows: no thread of our own.
        tracking.beats.append(self._refresh)
        self._tracking = tracking

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._stopping = True
        if self._tracking is not None and self._refresh in self._tracking.beats:
            self._tracking.beats.remove(self._refresh)
        try:
            self._run(self._forget())
        except Exception as e:
            log.warning("could not delete this worker's kind rows", error=repr(e))

    @staticmethod
    def _run(coro: Any) -> Any:
        loop = get_event_loop_thread()
        if loop is None:
            raise RuntimeError("KindWorkers needs the AsyncIO middleware")
        return loop.run_coroutine(coro)

    async def _record(self, worker: str | None) -> None:
        async with resources().engine.connect() as conn:
            await record_kinds(conn, self.kinds or [], worker=worker)
            await conn.commit()

    async def _refresh(self) -> None:
        # JobTracking beats on its own period: allow for its jitter.
        if self._stopping or time.monotonic() - self._seen_at < 0.9 * self.heartbeat_s:
            return
        self._seen_at = time.monotonic()
        async with resources().engine.connect() as conn:
            # A beat already running when the worker stops can find the rows
            # gone by the stop's delete: it must not bring them back.
            if not await heartbeat(conn, worker=self.worker) and not self._stopping:
                # Deleted meanwhile (a database restored, a purge): record again.
                await record_kinds(conn, self.kinds or [], worker=self.worker)
            await conn.commit()

    async def _forget(self) -> None:
        async with resources().engine.connect() as conn:
            await forget(conn, worker=self.worker)
            await conn.commit()
