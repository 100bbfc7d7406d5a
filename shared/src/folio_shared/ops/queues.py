"""Queue depth per physical queue, read from Folio's Redis broker.

For a physical queue ``q`` in namespace ``ns``, Dramatiq's Redis broker
keeps:

- ``ns:q``: the ready messages (a list; the oldest at the head) and
  ``ns:q.msgs`` their bodies;
- ``ns:q.DQ``: delayed messages (retries with backoff, ``eta`` sends) not
  yet picked up, plus those a worker holds in memory until they are due
  (in its ``q.DQ`` ack set);
- ``ns:__acks__.<worker>.q``: messages a worker fetched and has not acked:
  *in flight* (workers are listed in ``ns:__heartbeats__``);
- ``ns:q.XQ``: the dead-letter queue (a sorted set by time of death).

Throughput comes from PostgreSQL: jobs of the queue that reached a final
state, per minute, over the last minutes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.models import JobKind
from folio_shared.messages import Queue, logical_of, physical_queue_names
from folio_shared.ops.pause import paused_queues


@dataclass(frozen=True)
class QueueStats:
    """One physical queue: ``queue`` (``ocr.critical``), its ``logical``
    queue and ``priority``; message counts; ``oldest_age_s`` of the oldest
    ready message (``None`` when empty); ``paused`` (its logical queue);
    ``finished_per_minute``: jobs that reached a final state in each of the
    last minutes, oldest first; ``finished``: the same window by status."""

    queue: str
    logical: str
    priority: str
    ready: int
    delayed: int
    in_flight: int
    dead: int
    oldest_age_s: float | None
    paused: bool = False
    finished_per_minute: list[int] = field(default_factory=list)
    finished: dict[str, int] = field(default_factory=dict)


def all_physical_queues(extra: Iterable[str] = ()) -> list[str]:
    """Every physical queue of every Folio queue, then of the logical queues
    ``extra`` (job kinds'), in consumption order."""
    own = [q.value for q in Queue]
    extra = [q for q in dict.fromkeys(extra) if q not in own]
    return [name for q in (*own, *extra) for name in physical_queue_names(q)]


async def kind_queues(engine: AsyncEngine) -> list[str]:
    """The logical queues of the job kinds workers recorded in ``job_kinds``."""
    async with engine.connect() as conn:
        rows = await conn.scalars(sa.select(JobKind.queue).distinct().order_by(JobKind.queue))
        return list(rows)


def _decode(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def broker_workers(client: aioredis.Redis, namespace: str) -> list[str]:
    """Ids of the broker-level workers (one per process) Redis knows about."""
    ids = await client.zrange(f"{namespace}:__heartbeats__", 0, -1)
    return [_decode(i) for i in ids]


async def _depths(
    client: aioredis.Redis, namespace: str, queues: Sequence[str], workers: Sequence[str]
) -> list[tuple[int, int, int, int, float | None]]:
    ns = namespace
    async with client.pipeline(transaction=False) as pipe:
        for q in queues:
            pipe.llen(f"{ns}:{q}")
            pipe.llen(f"{ns}:{q}.DQ")
            pipe.zcard(f"{ns}:{q}.XQ")
            pipe.lindex(f"{ns}:{q}", 0)
            for w in workers:
                pipe.scard(f"{ns}:__acks__.{w}.{q}")
                pipe.scard(f"{ns}:__acks__.{w}.{q}.DQ")
        raw = await pipe.execute()
    out: list[tuple[int, int, int, int, float | None]] = []
    heads: list[tuple[int, str, object]] = []
    step = 4 + 2 * len(workers)
    for i, q in enumerate(queues):
        chunk = raw[i * step : (i + 1) * step]
        ready, delayed, dead, head = int(chunk[0]), int(chunk[1]), int(chunk[2]), chunk[3]
        acks = chunk[4:]
        in_flight = sum(int(n) for n in acks[0::2])
        delayed += sum(int(n) for n in acks[1::2])
        out.append((ready, delayed, in_flight, dead, None))
        if head is not None:
            heads.append((i, q, head))
    if heads:
        async with client.pipeline(transaction=False) as pipe:
            for _, q, head in heads:
                pipe.hget(f"{ns}:{q}.msgs", _decode(head))
            bodies = await pipe.execute()

        now_ms = time.time() * 1000
        for (i, _, _), body in zip(heads, bodies, strict=True):
            if body is None:
                continue
            try:
                sent_ms = float(json.loads(body)["message_timestamp"])
            except (ValueError, KeyError, TypeError):
                continue
            r, d, f, x, _ = out[i]
            out[i] = (r, d, f, x, max(0.0, (now_ms - sent_ms) / 1000))
    return out


_THROUGHPUT = sa.text(
    """
    SELECT queue_name, status,
      LEAST(CAST(floor(extract(epoch FROM now() - finished_at) / 60) AS integer),
            CAST(:minutes AS integer) - 1) AS ago,
      count(*) AS n
    FROM jobs
    WHERE finished_at >= now() - make_interval(mins => CAST(:minutes AS integer))
      AND status IN ('succeeded', 'failed', 'dead', 'cancelled')
    GROUP BY 1, 2, 3
    """
)


async def throughput(
    engine: AsyncEngine, *, minutes: int = 5
) -> dict[str, tuple[list[int], dict[str, int]]]:
    """Per physical queue: jobs finished in each of the last ``minutes``
    (oldest first) and the window's counts by final status."""
    out: dict[str, tuple[list[int], dict[str, int]]] = {}
    async with engine.connect() as conn:
        rows = (await conn.execute(_THROUGHPUT, {"minutes": minutes})).all()
    for row in rows:
        per_minute, by_status = out.setdefault(row.queue_name, ([0] * minutes, {}))
        per_minute[minutes - 1 - max(0, int(row.ago))] += int(row.n)
        by_status[str(row.status)] = by_status.get(str(row.status), 0) + int(row.n)
    return out


async def queue_stats(
    client: aioredis.Redis,
    namespace: str,
    *,
    engine: AsyncEngine | None = None,
    queues: Iterable[str] | None = None,
    minutes: int = 5,
) -> list[QueueStats]:
    """Stats of ``queues`` (physical names; default: every Folio queue, and
    with ``engine`` every job kind's), with throughput over the last
    ``minutes`` when ``engine`` is given."""
    if queues is not None:
        names = list(queues)
    else:
        names = all_physical_queues(await kind_queues(engine) if engine is not None else ())
    workers = await broker_workers(client, namespace)
    depths = await _depths(client, namespace, names, workers)
    paused = await paused_queues(client, namespace)
    rates = await throughput(engine, minutes=minutes) if engine is not None else {}
    stats = []
    for name, (ready, delayed, in_flight, dead, age) in zip(names, depths, strict=True):
        logical, priority = logical_of(name)
        per_minute, by_status = rates.get(name, ([0] * minutes if engine else [], {}))
        stats.append(
            QueueStats(
                queue=name,
                logical=logical,
                priority=priority,
                ready=ready,
                delayed=delayed,
                in_flight=in_flight,
                dead=dead,
                oldest_age_s=age,
                paused=logical in paused,
                finished_per_minute=per_minute,
                finished=by_status,
            )
        )
    return stats
