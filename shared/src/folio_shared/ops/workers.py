"""The worker registry: which worker processes are alive, and what they do.

Each worker process's :class:`WorkerRegistry` middleware writes a Redis hash
``folio:<namespace>:worker:<id>`` (host, pid, queues, the jobs it runs now,
start time, last heartbeat) every ``heartbeat_ms`` with a time-to-live of
three heartbeats, and indexes it in the sorted set
``folio:<namespace>:workers``. A process that dies stops refreshing its hash,
which expires: :func:`list_workers` shows live processes only. The current
jobs are a snapshot taken at each heartbeat, not on every message (that would
cost a Redis write per job).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dramatiq
import redis
import redis.asyncio as aioredis
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from folio_shared.logging import get_logger
from folio_shared.messages import logical_of

log = get_logger(__name__)


def index_key(namespace: str) -> str:
    return f"folio:{namespace}:workers"


def worker_key(namespace: str, worker_id: str) -> str:
    return f"folio:{namespace}:worker:{worker_id}"


@dataclass(frozen=True)
class WorkerInfo:
    """One live worker process."""

    id: str
    host: str
    pid: int
    queues: list[str]
    current_jobs: list[str]
    started_at: datetime
    last_heartbeat: datetime

    @property
    def logical_queues(self) -> list[str]:
        return sorted({logical_of(q)[0] for q in self.queues})


def _decode(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _when(value: str | None) -> datetime:
    return datetime.fromtimestamp(float(value or 0), UTC)


async def list_workers(client: aioredis.Redis, namespace: str) -> list[WorkerInfo]:
    """Live worker processes, by host and pid; forgets expired ones."""
    ids = [_decode(i) for i in await client.zrange(index_key(namespace), 0, -1)]
    if not ids:
        return []
    async with client.pipeline(transaction=False) as pipe:
        for wid in ids:
            pipe.hgetall(worker_key(namespace, wid))
        hashes = await pipe.execute()
    workers, gone = [], []
    for wid, raw in zip(ids, hashes, strict=True):
        if not raw:
            gone.append(wid)
            continue
        h = {_decode(k): _decode(v) for k, v in raw.items()}
        workers.append(
            WorkerInfo(
                id=wid,
                host=h.get("host", "?"),
                pid=int(h.get("pid", 0)),
                queues=json.loads(h.get("queues", "[]")),
                current_jobs=json.loads(h.get("jobs", "[]")),
                started_at=_when(h.get("started_at")),
                last_heartbeat=_when(h.get("last_heartbeat")),
            )
        )
    if gone:
        await client.zrem(index_key(namespace), *gone)
    return sorted(workers, key=lambda w: (w.host, w.pid, w.id))


def alive_per_queue(workers: list[WorkerInfo]) -> dict[str, int]:
    """How many live workers consume each logical queue."""
    counts: dict[str, int] = {}
    for w in workers:
        for q in w.logical_queues:
            counts[q] = counts.get(q, 0) + 1
    return counts


class WorkerRegistry(Middleware):
    """Keeps this worker process's entry in the registry (module doc).

    - ``redis_url``: Folio's Redis.
    - ``namespace``: the broker namespace (default ``folio``).
    - ``heartbeat_ms``: how often the entry is refreshed (default 5000 ms);
      it expires after three missed heartbeats.
    """

    def __init__(self, redis_url: str, *, namespace: str = "folio", heartbeat_ms: int = 5_000):
        self.redis_url = redis_url
        self.namespace = namespace
        self.heartbeat_ms = heartbeat_ms
        self.worker_id = ""
        self._queues: list[str] = []
        self._jobs: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at = 0.0

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        consumers = dict(getattr(worker, "consumers", None) or {})
        for m in broker.middleware:  # queues consumed by a lane's threads (folio_shared.lanes)
            consumers.update(getattr(m, "lane_consumers", dict)())
        names = consumers.keys() or broker.get_declared_queues()
        self._queues = sorted(q for q in names if not q.endswith(".DQ"))
        self._started_at = time.time()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._beat, name="folio-worker-registry", daemon=True
        )
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            client = redis.Redis.from_url(self.redis_url)
            client.delete(worker_key(self.namespace, self.worker_id))
            client.zrem(index_key(self.namespace), self.worker_id)
            client.close()
        except Exception as e:
            log.warning("worker registry entry not removed", error=repr(e))

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._lock:
            self._jobs[message.message_id] = str(
                message.options.get("job_id") or message.message_id
            )

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            self._jobs.pop(message.message_id, None)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._lock:
            self._jobs.pop(message.message_id, None)

    def _beat(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        ttl_ms = self.heartbeat_ms * 3
        try:
            while True:
                try:
                    self.beat(client, ttl_ms)
                except Exception as e:
                    log.warning("worker registry heartbeat failed", error=repr(e))
                if self._stop.wait(self.heartbeat_ms / 1000):
                    return
        finally:
            client.close()

    def beat(self, client: redis.Redis, ttl_ms: int) -> None:
        """Write this process's entry once."""
        with self._lock:
            jobs = sorted(set(self._jobs.values()))
        now = time.time()
        key = worker_key(self.namespace, self.worker_id)
        with client.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "queues": json.dumps(self._queues),
                    "jobs": json.dumps(jobs),
                    "started_at": self._started_at,
                    "last_heartbeat": now,
                },
            )
            pipe.pexpire(key, ttl_ms)
            pipe.zadd(index_key(self.namespace), {self.worker_id: now})
            pipe.execute()
