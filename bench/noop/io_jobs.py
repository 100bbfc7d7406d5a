"""The job kind of ``bench/async_kinds.py``: an async job awaiting I/O."""

from __future__ import annotations

import asyncio

import msgspec

from folio_shared.kinds import JobContext, job


class Wait(msgspec.Struct, frozen=True):
    ms: int = 2_000


@job("bench.wait", queue="bench-io", payload=Wait)
async def wait(ctx: JobContext, p: Wait) -> None:
    """Awaits ``ms`` milliseconds (I/O standing in: nothing runs meanwhile)."""
    await asyncio.sleep(p.ms / 1000)
