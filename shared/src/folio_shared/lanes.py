"""A lane: some queues of a worker process consumed by threads of their own.

A Dramatiq worker process has one pool of worker threads fed by every queue
it consumes. When all of them are busy with long messages (a document's
parse or embedding, minutes each), a short message on another queue (a
search query's embedding, which a user waits for) waits until one is free.
Dramatiq sizes threads per process, not per queue, and its answer to "these
queues must not wait behind those" is another worker process; that costs a
second copy of the embedding model and of every middleware's boot (a second
metrics server, registry entry and reconciler). :class:`QueueLane` keeps
one process and gives the lane's queues a second Dramatiq ``Worker`` of
their own, started inside the process's worker boot:

- the process's main ``Worker`` stops consuming the lane's queues (they are
  taken out of its queue list before its consumers start);
- the lane's ``Worker`` runs consumers for them and ``threads`` worker
  threads, which take nothing else; its messages go through the broker's
  whole middleware stack like any other (results, time limit, metrics).

Dramatiq's docs advise one ``Worker`` per process because each would boot
and shut the middleware down again; :class:`LaneWorker` therefore starts
and stops its threads without emitting ``worker_boot`` and
``worker_shutdown`` (the main Worker's boot and shutdown already did).

When the process consumes nothing but the lane's queues, there is nothing
to separate them from and the lane stays off.

- ``queues``: the logical queues of the lane (each with its priority
  sub-queues).
- ``threads``: the lane's worker threads (default 2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import dramatiq
from dramatiq.common import iter_queue, join_all, q_name
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import Middleware

from folio_shared.logging import get_logger
from folio_shared.messages import Queue, physical_queue_names

log = get_logger(__name__)


class LaneWorker(dramatiq.Worker):
    """A ``dramatiq.Worker`` that shares its process with the main one: it
    starts and stops its consumers and threads only (module doc)."""

    def start(self) -> None:
        # The main Worker's boot runs the middleware's worker_boot hooks.
        # Consumers for the queues declared now (the lane's are declared
        # when the actor modules are imported, before any boot), including
        # their delay queues (a paused queue's deferred messages).
        for name in self.broker.get_declared_queues():
            self._add_consumer(name)
        for name in self.broker.get_declared_delay_queues():
            self._add_consumer(name, delay=True)
        for _ in range(self.worker_threads):
            self._add_worker()

    def stop(self, timeout: int = 600_000) -> None:
        # Worker.stop without the worker_shutdown hooks (the main Worker's).
        for thread in self.workers:
            thread.stop()
        join_all(self.workers, timeout)  # type: ignore[no-untyped-call]
        for consumer in self.consumers.values():
            consumer.stop()
        join_all(self.consumers.values(), timeout)  # type: ignore[no-untyped-call]
        # Messages prefetched but not run go back to their queue now rather
        # than when the broker notices this consumer is gone.
        waiting: dict[str, list[Any]] = defaultdict(list)
        for item in iter_queue(self.work_queue):  # type: ignore[no-untyped-call]
            waiting[item.message.queue_name].append(item.message)
        for queue_name, messages in waiting.items():
            try:
                self.consumers[queue_name].requeue_messages(messages)
            except BrokerConnectionError:
                log.warning("lane messages not requeued", queue=queue_name)
        for consumer in self.consumers.values():
            consumer.close()


class QueueLane(Middleware):
    """Runs ``queues`` on threads of their own in each worker process (module doc)."""

    def __init__(self, queues: Sequence[Queue], *, threads: int = 2) -> None:
        self.names = {name for q in queues for name in physical_queue_names(q)}
        self.threads = threads
        self.worker: LaneWorker | None = None

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        if isinstance(worker, LaneWorker):
            return
        consumed = set(
            worker.consumer_whitelist or {q_name(q) for q in broker.get_declared_queues()}
        )
        mine, others = consumed & self.names, consumed - self.names
        if not mine or not others:
            return
        # Before the main Worker adds its consumers (right after this hook).
        worker.consumer_whitelist = others
        self.worker = LaneWorker(broker, queues=mine, worker_threads=self.threads)
        self.worker.start()
        log.info("queue lane started", queues=sorted(mine), threads=self.threads)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        if self.worker is not None and worker is not self.worker:
            self.worker.stop(timeout=30_000)
            self.worker = None

    def lane_consumers(self) -> dict[str, Any]:
        """The lane's consumers by queue name (empty while it is off)."""
        return dict(self.worker.consumers) if self.worker is not None else {}
