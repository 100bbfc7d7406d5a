"""Operating Folio: what the ops API and ``folio`` commands are made of.

Every function here is plain async Python over the clients a caller already
holds (Redis, the database engine, :class:`~folio_shared.jobs.Jobs`); the
HTTP routes and the CLI are thin wrappers.

- :mod:`.queues`: depth of every physical queue (ready, delayed, in flight,
  dead), oldest message age, throughput of the last minutes;
- :mod:`.workers`: the worker registry (:class:`WorkerRegistry` middleware)
  and the live workers it shows;
- :mod:`.pause`: pausing and resuming a queue (:class:`QueuePause`);
- :mod:`.dead`: the dead-letter workbench (list, inspect, re-drive, purge);
- :mod:`.selection`: which dead jobs a re-drive or purge touches (the one
  rule the ops API and ``folio dead`` apply);
- :mod:`.attempts`: the error and traceback of every failed attempt
  (:class:`AttemptErrors` middleware);
- :mod:`.stalled`: the stalled-job watchdog and the outbox backlog;
- :mod:`.audit`: who did what, in the ``audit_log`` table;
- :mod:`.snapshot`: one sample of all of it for the cluster gauges.

Queue depth reads Folio's Redis broker (keys under the broker namespace);
on RabbitMQ Folio reports none: RabbitMQ's own management API or
Prometheus endpoint does (docs/deployment.md says what else RabbitMQ
lacks). Pausing and the worker registry keep their state in Redis.
"""

from folio_shared.ops.attempts import AttemptErrors
from folio_shared.ops.pause import QueuePause, pause_queue, paused_queues, resume_queue
from folio_shared.ops.queues import QueueStats, queue_stats
from folio_shared.ops.workers import WorkerInfo, WorkerRegistry, list_workers

__all__ = [
    "AttemptErrors",
    "QueuePause",
    "QueueStats",
    "WorkerInfo",
    "WorkerRegistry",
    "list_workers",
    "pause_queue",
    "paused_queues",
    "queue_stats",
    "resume_queue",
]
