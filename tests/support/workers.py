"""Workers of the tests: one in this process, or real worker processes.

:func:`start_in_process` runs a Dramatiq worker in the test's own process
with Folio's full middleware stack and the test actors, made quick for
tests (metrics on a private port, fast pause polling and heartbeats).
:func:`start_process` runs a worker module under Folio's supervisor
(``folio_devstack.workers.WorkerProcess``), as production does; the
``spawn`` fixture (:mod:`support.fixtures`) starts and stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq

from folio_devstack.workers import WorkerProcess, worker_env
from folio_shared.broker import create_broker
from folio_shared.jobs.middleware import JobTracking
from folio_shared.kinds import Kind
from folio_shared.kinds.record import KindWorkers
from folio_shared.messages import Queue, physical_queue_names
from folio_shared.ops.pause import QueuePause
from folio_shared.ops.workers import WorkerRegistry
from folio_shared.settings import FolioSettings
from folio_shared.worker_metrics import Metrics
from support.actors import declare
from support.jobs import drop_namespace
from support.plain_kinds import KIND_QUEUE

#: The folder holding the ``support`` package (a worker process's import path).
TESTS_DIR = Path(__file__).resolve().parent.parent
#: The worker module running the test actors (:mod:`support.worker_main`).
TEST_WORKER_MODULE = "support.worker_main"
#: The queues the test actors use, every priority.
TEST_QUEUES = [
    name for q in (Queue.DOCUMENTS, Queue.OCR, KIND_QUEUE) for name in physical_queue_names(q)
]


@dataclass
class RunningWorker:
    broker: dramatiq.Broker
    worker: dramatiq.Worker
    actors: dict[str, Any]
    metrics_port: int
    namespace: str
    redis_url: str

    def stop(self) -> None:
        self.worker.stop(timeout=10_000)
        self.broker.close()
        drop_namespace(self.redis_url, self.namespace)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def tune(broker: dramatiq.Broker, *, metrics_port: int) -> Metrics:
    """Make the stack quick for tests: a private metrics port, fast pause
    polling and registry heartbeats. Returns the Metrics middleware."""
    found: Metrics | None = None
    for m in broker.middleware:
        if isinstance(m, Metrics):
            m.port, m.addr = metrics_port, "127.0.0.1"
            found = m
        elif isinstance(m, QueuePause):
            m.poll_ms, m.defer_ms = 50, 200
        elif isinstance(m, WorkerRegistry):
            m.heartbeat_ms = 100
    assert found is not None
    return found


def start_in_process(settings: FolioSettings, *, threads: int = 4) -> RunningWorker:
    """A worker of the test actors in this process; :meth:`RunningWorker.stop` it."""
    broker = create_broker(settings)
    actors = declare(broker)
    port = free_port()
    tune(broker, metrics_port=port)
    # What Dramatiq's CLI does in each worker process before the worker
    # starts (TimeLimit starts its timer thread on this signal).
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    return RunningWorker(
        broker, worker, actors, port, settings.broker.namespace, settings.redis.url
    )


def worker_argv(
    module: str, queues: Iterable[str], *, threads: int, shutdown_ms: int | None = None
) -> list[str]:
    """Dramatiq CLI arguments: one process of ``threads`` threads on ``queues``."""
    argv = [module, "--processes", "1", "--threads", str(threads)]
    if shutdown_ms is not None:
        argv += ["--worker-shutdown-timeout", str(shutdown_ms)]
    return [*argv, "--queues", *queues]


def start_process(
    settings: FolioSettings,
    log: Path,
    *,
    module: str = TEST_WORKER_MODULE,
    queues: Iterable[str] = TEST_QUEUES,
    threads: int = 4,
    shutdown_ms: int = 10_000,
    **env: str,
) -> WorkerProcess:
    """``module`` as a supervised worker process with ``settings`` (and the
    ``FOLIO_*`` overrides in ``env``), logging to ``log``. It finishes its
    messages for at most ``shutdown_ms`` once told to stop (Dramatiq's
    ``--worker-shutdown-timeout``; 10 s, not Dramatiq's 10 minutes)."""
    argv = worker_argv(module, queues, threads=threads, shutdown_ms=shutdown_ms)
    return WorkerProcess(argv, worker_env(settings, python_path=[TESTS_DIR], **env), log)


@contextlib.contextmanager
def kind_worker(
    settings: FolioSettings, kinds: Sequence[Kind], *, threads: int = 8, heartbeat_s: float = 0.2
) -> Iterator[dramatiq.Broker]:
    """A worker serving ``kinds`` (declared with the SDK) in this process,
    on Folio's full stack, as ``folio worker start --jobs`` runs them;
    yields its broker, and stops it and drops its namespace afterwards."""
    broker = create_broker(settings)
    broker.add_middleware(KindWorkers(kinds, heartbeat_s=heartbeat_s), before=JobTracking)
    tune(broker, metrics_port=free_port())
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        yield broker
    finally:
        worker.stop(timeout=10_000)
        broker.close()
        drop_namespace(settings.redis.url, settings.broker.namespace)


def late_beat(kinds: KindWorkers) -> None:
    """``kinds``' heartbeat, run once more after its worker stopped, on an
    event loop of its own (the worker's is gone)."""
    kinds._seen_at = 0.0
    asyncio.run(kinds._refresh())


def worker_id(broker: dramatiq.Broker) -> str:
    """The worker id a broker's kind rows carry (its JobTracking's)."""
    return next(m for m in broker.middleware if isinstance(m, JobTracking)).worker_id
