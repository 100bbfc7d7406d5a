"""Actors the observability tests run, declared on whichever broker is given.

Every run is counted in Redis (``test:<key>:<what>``) so a test can tell how
many times an actor body really ran. ``obs.buggy`` fails with a bug until
the test "fixes" it by setting ``test:<key>:fixed``.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, ClassVar

import dramatiq

from folio_shared.errors import UnsupportedFileType
from folio_shared.jobs import WAITING, add_children, current_job, job_actor, outbox, progress
from folio_shared.jobs.family import child_job_id
from folio_shared.messages import Message, Queue
from folio_shared.resources import resources


class Base(Message, frozen=True, kw_only=True, tag=False):
    queue: ClassVar[Queue] = Queue.DOCUMENTS
    job_id: str
    key: str = "default"


class EchoV1(Base, frozen=True, tag="obs.echo.v1"):
    actor_name: ClassVar[str] = "obs.echo"
    fail_times: int = 0
    sleep_ms: int = 0


class BrokenV1(Base, frozen=True, tag="obs.broken.v1"):
    actor_name: ClassVar[str] = "obs.broken"


class BuggyV1(Base, frozen=True, tag="obs.buggy.v1"):
    actor_name: ClassVar[str] = "obs.buggy"
    mode: str = "normal"


class PageV1(Base, frozen=True, tag="obs.page.v1"):
    actor_name: ClassVar[str] = "obs.page"
    queue: ClassVar[Queue] = Queue.OCR
    page_no: int = 1


class ParentV1(Base, frozen=True, tag="obs.parent.v1"):
    actor_name: ClassVar[str] = "obs.parent"
    pages: int = 3


class CompleteV1(Base, frozen=True, tag="obs.complete.v1"):
    actor_name: ClassVar[str] = "obs.complete"


async def count(key: str, what: str) -> int:
    return int(await resources().redis.incr(f"test:{key}:{what}"))


def declare(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor[..., Any]]:
    @job_actor(EchoV1, broker=broker, min_backoff_ms=20, max_backoff_ms=50)
    async def echo(msg: EchoV1) -> dict[str, Any]:
        runs = await count(msg.key, f"echo:{msg.job_id}")
        await progress("echoing", done=0, total=1)
        if msg.sleep_ms:
            await asyncio.sleep(msg.sleep_ms / 1000)
        if runs <= msg.fail_times:
            raise ConnectionError(f"transient failure {runs}")
        return {"runs": runs}

    @job_actor(BrokenV1, broker=broker)
    async def broken(msg: BrokenV1) -> None:
        raise UnsupportedFileType("this file type cannot be processed", job_id=msg.job_id)

    @job_actor(BuggyV1, broker=broker, min_backoff_ms=20, max_backoff_ms=50)
    async def buggy(msg: BuggyV1) -> dict[str, Any]:
        await count(msg.key, f"buggy:{msg.job_id}")
        if not await resources().redis.get(f"test:{msg.key}:fixed"):
            raise RuntimeError(f"bug in mode {msg.mode}")
        await count(msg.key, f"buggy-ok:{msg.job_id}")
        return {"mode": msg.mode}

    @job_actor(PageV1, broker=broker)
    async def page(msg: PageV1) -> dict[str, int]:
        await count(msg.key, f"page:{msg.job_id}")
        return {"page_no": msg.page_no}

    @job_actor(ParentV1, broker=broker)
    async def parent(msg: ParentV1) -> object:
        ctx = current_job()
        kids = [
            PageV1(job_id=str(child_job_id(ctx.job_id, i)), key=msg.key, page_no=i + 1)
            for i in range(msg.pages)
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
        return WAITING

    @job_actor(CompleteV1, broker=broker)
    async def complete(msg: CompleteV1) -> dict[str, int]:
        return {"completions": await count(msg.key, "complete")}

    return {
        "echo": echo,
        "broken": broken,
        "buggy": buggy,
        "page": page,
        "parent": parent,
        "complete": complete,
    }


def new_id() -> str:
    return str(uuid.uuid4())
