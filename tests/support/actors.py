"""Actors the job-engine and observability tests run, declared on whichever
broker is given.

Their message types live here, not in Folio's registry: they exist for the
tests only. Behaviour is driven by the message (sleep, fail N times, kill
the worker) and every run is counted in Redis (``test:<key>:<what>``, read
with :func:`support.jobs.runs`), so tests can tell how many times an actor
body really ran. ``test.buggy`` fails with a bug until the test "fixes" it
by setting ``test:<key>:fixed``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from typing import Any, ClassVar

import dramatiq

from folio_shared.errors import UnsupportedFileType
from folio_shared.jobs import WAITING, add_children, current_job, job_actor, outbox, progress
from folio_shared.jobs.family import child_job_id
from folio_shared.messages import Message, Queue
from folio_shared.resources import resources
from support.plain_kinds import declare_kinds


class Base(Message, frozen=True, kw_only=True, tag=False):
    queue: ClassVar[Queue] = Queue.DOCUMENTS
    job_id: str
    key: str = "default"  # Redis counter prefix of the test


class EchoV1(Base, frozen=True, tag="test.echo.v1"):
    actor_name: ClassVar[str] = "test.echo"
    value: int = 0
    sleep_ms: int = 0
    fail_times: int = 0  # raise a transient error on the first N runs


class BrokenV1(Base, frozen=True, tag="test.broken.v1"):
    actor_name: ClassVar[str] = "test.broken"


class BuggyV1(Base, frozen=True, tag="test.buggy.v1"):
    actor_name: ClassVar[str] = "test.buggy"
    mode: str = "normal"


class SlowV1(Base, frozen=True, tag="test.slow.v1"):
    actor_name: ClassVar[str] = "test.slow"
    steps: int = 100
    step_ms: int = 50


class TimedV1(Base, frozen=True, tag="test.timed.v1"):
    actor_name: ClassVar[str] = "test.timed"
    sleep_ms: int = 5_000


class SuicideV1(Base, frozen=True, tag="test.suicide.v1"):
    actor_name: ClassVar[str] = "test.suicide"


class ParentV1(Base, frozen=True, tag="test.parent.v1"):
    actor_name: ClassVar[str] = "test.parent"
    children: int = 3
    child_sleep_ms: int = 0
    #: after its last progress(), the parent keeps running (holding its
    #: lease) until a cancel is requested, at most this long, then returns
    hold_ms: int = 0


class ChildV1(Base, frozen=True, tag="test.child.v1"):
    actor_name: ClassVar[str] = "test.child"
    queue: ClassVar[Queue] = Queue.OCR
    index: int = 0
    page_no: int = 1  # as an OCR page's message: telemetry labels its span with it
    sleep_ms: int = 0


class CompleteV1(Base, frozen=True, tag="test.complete.v1"):
    actor_name: ClassVar[str] = "test.complete"


class PlainV1(Base, frozen=True, tag="test.plain.v1"):
    """For the plain ``def`` actor: fails with a transient error on the
    first ``fail_times`` attempts, or for good when ``broken``."""

    actor_name: ClassVar[str] = "test.plain"
    value: int = 0
    fail_times: int = 0
    broken: bool = False


async def count(key: str, what: str) -> int:
    return int(await resources().redis.incr(f"test:{key}:{what}"))


def declare(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor[..., Any]]:
    """Declare every test actor on ``broker``."""

    @job_actor(EchoV1, broker=broker, min_backoff_ms=50, max_backoff_ms=200)
    async def echo(msg: EchoV1) -> dict[str, Any]:
        runs = await count(msg.key, f"echo:{msg.job_id}")
        await count(msg.key, "echo")
        await progress("echoing", done=1, total=2)
        if msg.sleep_ms:
            await asyncio.sleep(msg.sleep_ms / 1000)
        if runs <= msg.fail_times:
            raise ConnectionError(f"transient failure {runs}")
        return {"value": msg.value, "attempt": current_job().attempt}

    @job_actor(BrokenV1, broker=broker)
    async def broken(msg: BrokenV1) -> None:
        await count(msg.key, "broken")
        raise UnsupportedFileType("this file type cannot be processed", job_id=msg.job_id)

    @job_actor(BuggyV1, broker=broker, min_backoff_ms=20, max_backoff_ms=50)
    async def buggy(msg: BuggyV1) -> dict[str, Any]:
        await count(msg.key, f"buggy:{msg.job_id}")
        if not await resources().redis.get(f"test:{msg.key}:fixed"):
            raise RuntimeError(f"bug in mode {msg.mode}")
        await count(msg.key, f"buggy-ok:{msg.job_id}")
        return {"mode": msg.mode}

    @job_actor(SlowV1, broker=broker)
    async def slow(msg: SlowV1) -> dict[str, int]:
        await count(msg.key, "slow:started")
        for step in range(msg.steps):
            await progress("working", done=step, total=msg.steps)
            await asyncio.sleep(msg.step_ms / 1000)
            await count(msg.key, "slow:steps")
        return {"steps": msg.steps}

    @job_actor(TimedV1, broker=broker, time_limit_ms=300, max_retries=1)
    async def timed(msg: TimedV1) -> None:
        await count(msg.key, "timed")
        await asyncio.sleep(msg.sleep_ms / 1000)

    @job_actor(SuicideV1, broker=broker)
    async def suicide(msg: SuicideV1) -> None:
        await count(msg.key, "suicide")
        os.kill(os.getpid(), signal.SIGKILL)

    @job_actor(ParentV1, broker=broker)
    async def parent(msg: ParentV1) -> object:
        await count(msg.key, "parent")
        ctx = current_job()
        kids = [
            ChildV1(
                job_id=_child_id(msg, i),
                key=msg.key,
                index=i,
                page_no=i + 1,
                sleep_ms=msg.child_sleep_ms,
            )
            for i in range(msg.children)
        ]
        async with resources().sessions() as session:
            created = await add_children(
                session,
                ctx.job_id,
                kids,
                then=CompleteV1(job_id=msg.job_id, key=msg.key),
                tenant_id=ctx.tenant_id,
                document_id=ctx.document_id,
            )
            await session.commit()
            ids = outbox.pending_ids(session)
        if created:
            async with resources().engine.connect() as conn:
                await outbox.dispatch(conn, broker, ids)
        await progress("waiting for children")
        deadline = asyncio.get_running_loop().time() + msg.hold_ms / 1000
        while asyncio.get_running_loop().time() < deadline:
            requested = await resources().pg.fetchval(
                "SELECT cancel_requested_at IS NOT NULL FROM jobs WHERE id = $1", ctx.job_id
            )
            if requested:
                # Seen while this attempt holds its lease: the cancel was
                # only requested. Return at once, before the heartbeat
                # notices it, so the hand-over has to carry it out.
                await count(msg.key, "cancel seen while holding")
                break
            await asyncio.sleep(0.02)
        return WAITING

    @job_actor(ChildV1, broker=broker)
    async def child(msg: ChildV1) -> dict[str, int]:
        await count(msg.key, f"child:{msg.index}")
        await count(msg.key, f"child:{msg.job_id}")
        await count(msg.key, "child")
        if msg.sleep_ms:
            await asyncio.sleep(msg.sleep_ms / 1000)
        return {"index": msg.index}

    @job_actor(CompleteV1, broker=broker)
    async def complete(msg: CompleteV1) -> dict[str, int]:
        n = await count(msg.key, "complete")
        return {"completions": n}

    @job_actor(PlainV1, broker=broker, min_backoff_ms=20, max_backoff_ms=50)
    def plain(msg: PlainV1) -> dict[str, Any]:
        ctx = current_job()
        if msg.broken:
            raise UnsupportedFileType("this file type cannot be processed", job_id=msg.job_id)
        if ctx.attempt <= msg.fail_times:
            raise ConnectionError(f"transient failure {ctx.attempt}")
        return {"value": msg.value, "attempt": ctx.attempt, "thread": _thread_kind()}

    return {
        **declare_kinds(broker),
        "echo": echo,
        "broken": broken,
        "buggy": buggy,
        "slow": slow,
        "suicide": suicide,
        "timed": timed,
        "parent": parent,
        "child": child,
        "complete": complete,
        "plain": plain,
    }


def _thread_kind() -> str:
    """``loop`` on the worker's event-loop thread, else ``worker``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return "worker"
    return "loop"


def _child_id(msg: ParentV1, index: int) -> str:
    return str(child_job_id(uuid.UUID(msg.job_id), index))


def new_id() -> uuid.UUID:
    """A fresh job id."""
    return uuid.uuid4()
