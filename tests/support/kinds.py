"""Job kinds the SDK tests declare (``folio worker start --jobs support.kinds``).

Like :mod:`support.actors`, each run is counted in Redis
(``test:<key>:<what>``) so a test can tell how often a body really ran.
"""

from __future__ import annotations

import asyncio
import time

import msgspec
import redis

from folio_shared.kinds import JobContext, SyncJobContext, job
from folio_shared.resources import resources


class Nap(msgspec.Struct, frozen=True):
    key: str
    value: int = 0
    steps: int = 1
    step_ms: int = 0
    fail_times: int = 0  # raise a transient error on the first N runs


class Napped(msgspec.Struct, frozen=True):
    value: int
    attempt: int
    steps: int


class Add(msgspec.Struct, frozen=True):
    key: str
    a: int
    b: int


class Sum(msgspec.Struct, frozen=True):
    total: int
    thread: str


class Split(msgspec.Struct, frozen=True):
    key: str
    parts: int = 3


class Part(msgspec.Struct, frozen=True):
    key: str
    n: int


class Merge(msgspec.Struct, frozen=True):
    key: str


async def count(key: str, what: str) -> int:
    return int(await resources().redis.incr(f"test:{key}:{what}"))


@job(
    "test.nap",
    queue="kinds-test",
    payload=Nap,
    result=Napped,
    min_backoff_ms=50,
    max_backoff_ms=200,
)
async def nap(ctx: JobContext, p: Nap) -> Napped:
    """Sleeps in steps, reporting progress at each."""
    runs = await count(p.key, f"nap:{ctx.job_id}")
    for step in range(p.steps):
        await ctx.progress(step / p.steps, stage="napping")
        await asyncio.sleep(p.step_ms / 1000)
        await count(p.key, "nap:steps")
    if runs <= p.fail_times:
        raise ConnectionError(f"transient failure {runs}")
    return Napped(value=p.value, attempt=ctx.attempt, steps=p.steps)


@job("test.add", queue="kinds-test", payload=Add, result=Sum, max_retries=0)
def add(ctx: SyncJobContext, p: Add) -> Sum:
    """A plain function: runs in a worker thread, with a blocking context."""
    ctx.progress(0.5, stage="adding")
    time.sleep(0.01)
    return Sum(total=p.a + p.b, thread="worker")


@job("test.split", queue="kinds-test", payload=Split)
async def split(ctx: JobContext, p: Split) -> object:
    await count(p.key, "split")
    return await ctx.fan_out([Part(key=p.key, n=n) for n in range(p.parts)], then=Merge(key=p.key))


@job("test.part", queue="kinds-test", payload=Part)
async def part(ctx: JobContext, p: Part) -> dict[str, int]:
    await count(p.key, f"part:{p.n}")
    return {"square": p.n * p.n}


@job("test.merge", queue="kinds-test", payload=Merge)
async def merge(ctx: JobContext, p: Merge) -> dict[str, object]:
    await count(p.key, "merge")
    children = await ctx.children()
    return {
        "squares": [c.result["square"] if c.result else None for c in children],
        "statuses": [c.status for c in children],
    }


class Copy(msgspec.Struct, frozen=True):
    key: str  # the input object


@job("test.copy", queue="kinds-test", payload=Copy, max_retries=0)
async def copy(ctx: JobContext, p: Copy) -> dict[str, str]:
    """Reads the input object and writes it back upper-cased as the job's output."""
    data = await ctx.read(p.key)
    return {"output": await ctx.write("upper.txt", data.upper(), content_type="text/plain")}


class Linger(msgspec.Struct, frozen=True):
    key: str
    ms: int = 5_000


@job("test.linger", queue="kinds-test", payload=Linger, time_limit_ms=300, max_retries=0)
async def linger(ctx: JobContext, p: Linger) -> None:
    """Awaits longer than its time limit allows."""
    await count(p.key, "linger:started")
    await asyncio.sleep(p.ms / 1000)
    await count(p.key, "linger:finished")


class Grind(msgspec.Struct, frozen=True):
    key: str
    steps: int = 400
    step_ms: int = 25


@job("test.grind", queue="kinds-test", payload=Grind)
def grind(ctx: SyncJobContext, p: Grind) -> dict[str, int]:
    """A plain function working in steps, each a cancellation point."""
    client = redis.Redis.from_url(resources().settings.redis.url)
    try:
        for step in range(p.steps):
            ctx.progress(done=step, total=p.steps, stage="grinding")
            time.sleep(p.step_ms / 1000)
            client.incr(f"test:{p.key}:grind:steps")
    finally:
        client.close()
    return {"steps": p.steps}
