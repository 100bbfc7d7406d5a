"""A job kind of the tests, as a worker of user kinds serves one: a plain
Dramatiq actor named like the kind, on the kind's queue and its priority
sub-queues, receiving the tagged payload (``{..., "type": "<kind>.v1"}``)
under the job engine's middleware. Its ``job_kinds`` row (what the API
validates payloads against) is written by :func:`record_kinds`.

``test.kind.work`` counts its runs in Redis (``test:<key>:kind`` and
``test:<key>:kind:<job id>``), sleeps ``sleep_ms``, and fails with a
readable reason when ``fail`` is true; ``test.kind.done`` (a batch's
completion job) counts ``test:<key>:done``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import dramatiq
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.models import JobKind
from folio_shared.errors import JobCancelled
from folio_shared.jobs import current_job, progress
from folio_shared.messages import physical_queue_names
from folio_shared.resources import resources

#: The logical queue of the test kinds.
KIND_QUEUE = "testkinds"
WORK = "test.kind.work"
DONE = "test.kind.done"

#: The payload schema of both kinds (JSON schema, as a worker records it).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "sleep_ms": {"type": "integer", "minimum": 0},
        "fail": {"type": "boolean"},
    },
    "required": ["key"],
}


async def record_kinds(engine: AsyncEngine) -> None:
    """The kinds' ``job_kinds`` rows (as a worker writes them at start)."""
    async with engine.begin() as conn:
        for name in (WORK, DONE):
            await conn.execute(
                insert(JobKind)
                .values(name=name, version=1, queue=KIND_QUEUE, payload_schema=SCHEMA)
                .on_conflict_do_nothing()
            )


async def _count(key: str, what: str) -> int:
    return int(await resources().redis.incr(f"test:{key}:{what}"))


def declare_kinds(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor[..., Any]]:
    """Declare the test kinds' actors on ``broker`` (and their queues)."""
    for queue in physical_queue_names(KIND_QUEUE):
        broker.declare_queue(queue)

    async def work(payload: dict[str, Any]) -> dict[str, Any] | None:
        key = payload["key"]
        await _count(key, "kind")
        await _count(key, f"kind:{current_job().job_id}")
        try:
            await progress("working", done=0, total=1)
            if payload.get("sleep_ms"):
                await asyncio.sleep(payload["sleep_ms"] / 1000)
            await progress("working", done=1, total=1)
        except JobCancelled:
            current_job().cancelled = True
            return None
        if payload.get("fail"):
            current_job().failure = ValueError("asked to fail")
            return None
        return {"type": payload["type"]}

    async def done(payload: dict[str, Any]) -> dict[str, int]:
        return {"completions": await _count(payload["key"], "done")}

    return {
        name: dramatiq.actor(fn, actor_name=name, queue_name=KIND_QUEUE, broker=broker)
        for name, fn in ((WORK, work), (DONE, done))
    }
