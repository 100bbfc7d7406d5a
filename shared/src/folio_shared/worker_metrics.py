"""The worker's metrics: the :class:`Metrics` middleware, which counts every
message and serves the metrics port, and the cluster gauges it serves
(:class:`ClusterCollector`). The metrics themselves are declared in
:mod:`folio_shared.metrics`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import start_http_server

from folio_shared.jobs.context import current_job_or_none
from folio_shared.jobs.family import WAITING
from folio_shared.logging import get_logger
from folio_shared.metrics import (
    CLUSTER_GAUGES,
    DEAD_LETTERS,
    DEFAULT_METRICS_PORT,
    JOB_DURATION,
    JOB_QUEUE_WAIT,
    JOB_RETRIES,
    JOBS,
    JOBS_IN_PROGRESS,
    multiprocess_mode,
    process_registry,
)

log = get_logger(__name__)


class ClusterCollector:
    """Cluster gauges computed when Prometheus scrapes.

    - ``sample``: returns a :class:`folio_shared.ops.snapshot.Snapshot` (or
      ``None`` when it cannot); called on the scraping thread.
    """

    def __init__(self, sample: Callable[[], Any]) -> None:
        self.sample = sample

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        try:
            snap = self.sample()
        except Exception as e:
            log.warning("cluster metrics sample failed", error=repr(e))
            snap = None
        families = {
            name: GaugeMetricFamily(name, text, labels=list(labels))
            for name, (text, labels) in CLUSTER_GAUGES.items()
        }
        if snap is None:
            families["folio_redis_up"].add_metric([], 0)
            families["folio_database_up"].add_metric([], 0)
            return list(families.values())
        for name, labels, value in snap.samples():
            families[name].add_metric(list(labels), value)
        return list(families.values())


class Metrics(Middleware):
    """Counts every message a worker processes and serves the metrics port.

    Outcomes: ``succeeded``, ``failed`` (a permanent error, no retry),
    ``cancelled``, ``waiting`` (handed to child jobs), ``retried`` (acked
    and sent back with a delay), ``dead`` (nacked: moved to the dead-letter
    queue), ``skipped`` (the job engine refused it: a duplicate delivery),
    ``deferred`` (its queue is paused) and ``limited`` (held back by its
    kind's rate or concurrency limit).

    Placement: after ``JobTracking``, so the job's context (failure,
    cancellation) is still there when this middleware's
    ``after_process_message`` runs; retried and dead are known only at the
    ack/nack that follows.

    - ``port``: the metrics server's port (default 9191,
      ``FOLIO_METRICS_PORT``); ``0`` serves nothing.
    - ``addr``: the address it binds (default ``0.0.0.0``).
    - ``cluster``: a sample function for :class:`ClusterCollector`, served
      with the process's metrics (default: none).
    """

    def __init__(
        self,
        *,
        port: int = DEFAULT_METRICS_PORT,
        addr: str = "0.0.0.0",
        cluster: Callable[[], Any] | None = None,
    ) -> None:
        self.port = port
        self.addr = addr
        self.cluster = cluster
        self.serving = False
        self._server: Any = None
        self._lock = threading.Lock()
        self._started: dict[str, tuple[float, Any, _Series]] = {}
        self._failed: set[str] = set()
        #: The labelled series of each (actor, queue), looked up once.
        self._series: dict[tuple[str, str], _Series] = {}

    # -- server ----------------------------------------------------------------------

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        if not self.port:
            return
        registry = process_registry()
        if self.cluster is not None:
            # A registry of its own: the global one must stay free of
            # scrape-time collectors (other registries read it).
            served = CollectorRegistry()
            served.register(_Merged(registry))
            served.register(ClusterCollector(self.cluster))
            registry = served
        try:
            self._server, _ = start_http_server(self.port, self.addr, registry)
        except OSError as e:
            # Another process of this pod serves the port (multiprocess mode).
            log.info("metrics port taken; not serving here", port=self.port, error=str(e))
            return
        self.serving = True
        log.info("serving metrics", port=self.port, multiprocess=multiprocess_mode())

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.serving = False
        if multiprocess_mode():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    # -- per message ---------------------------------------------------------------------

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        now = time.time()
        series = self._series_of(message.actor_name, _queue(message))
        series.queue_wait.observe(max(0.0, now - message.message_timestamp / 1000))
        series.in_progress.inc()
        started = (time.perf_counter(), current_job_or_none(), series)
        with self._lock:
            self._started[message.message_id] = started

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        message_id = message.message_id
        with self._lock:
            started = self._started.pop(message_id, None)
        if started is None:
            return
        began, ctx, series = started
        series.in_progress.dec()
        series.duration.observe(time.perf_counter() - began)
        if ctx is not None and ctx.cancelled:
            series.outcome("cancelled").inc()
        elif exception is not None:
            with self._lock:  # retried or dead: known at the ack / nack
                self._failed.add(message_id)
        elif ctx is not None and ctx.failure is not None:
            series.outcome("failed").inc()
        elif result is WAITING:
            series.outcome("waiting").inc()
        else:
            series.succeeded.inc()

    def _series_of(self, actor: str, queue: str) -> _Series:
        series = self._series.get((actor, queue))
        if series is None:
            series = self._series[(actor, queue)] = _Series(actor, queue)
        return series

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._lock:
            started = self._started.pop(message.message_id, None)
        if started is not None:
            started[2].in_progress.dec()
        if message.options.get("folio_paused") or message.options.get("folio_deferred"):
            outcome = "deferred"
        elif message.options.get("folio_limited"):
            outcome = "limited"
        else:
            outcome = "skipped"
        JOBS.labels(message.actor_name, _queue(message), outcome).inc()

    def after_ack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._lock:
            failed = message.message_id in self._failed
            self._failed.discard(message.message_id)
        if failed:
            JOBS.labels(message.actor_name, _queue(message), "retried").inc()
            JOB_RETRIES.labels(message.actor_name, _queue(message)).inc()

    def after_nack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._lock:
            self._failed.discard(message.message_id)
        JOBS.labels(message.actor_name, _queue(message), "dead").inc()
        DEAD_LETTERS.labels(message.actor_name, _queue(message)).inc()


class _Series:
    """The labelled series one (actor, queue) updates for every message.

    ``labels()`` checks and joins the label values and takes the metric's
    lock on each call; a message touched five series that way. The
    children it returns are the metric's own (the same objects every
    call), so keeping them changes nothing the registry exports.
    """

    __slots__ = ("actor", "duration", "in_progress", "queue", "queue_wait", "succeeded")

    def __init__(self, actor: str, queue: str) -> None:
        self.actor, self.queue = actor, queue
        self.queue_wait = JOB_QUEUE_WAIT.labels(queue)
        self.in_progress = JOBS_IN_PROGRESS.labels(actor, queue)
        self.duration = JOB_DURATION.labels(actor, queue)
        self.succeeded = JOBS.labels(actor, queue, "succeeded")

    def outcome(self, outcome: str) -> Any:
        """The ``folio_jobs`` series of a less common outcome."""
        return JOBS.labels(self.actor, self.queue, outcome)


def _queue(message: MessageProxy) -> str:
    """The physical queue, without Dramatiq's ``.DQ`` / ``.XQ`` suffix."""
    name: str = message.queue_name
    return name.removesuffix(".DQ").removesuffix(".XQ")


class _Merged:
    """Serves another registry's metrics as part of a new registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()
