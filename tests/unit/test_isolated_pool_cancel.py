"""A cancelled call (a job's time limit cancels its coroutine) kills its
child at once and frees the pool's slot: the next call does not wait for
the abandoned one. Real child processes; no servers."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest

from folio_shared.isolation import IsolatedPool


def sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def pool() -> Iterator[IsolatedPool]:
    with IsolatedPool(1, wall_time_limit_s=60, cpu_time_limit_s=60) as one:
        one.start()
        yield one


async def test_a_cancelled_call_kills_its_child_and_frees_the_slot(pool: IsolatedPool) -> None:
    # Given the pool's only child busy with a long call
    (child,) = pool.pids()
    slow = asyncio.ensure_future(pool.run_async(sleep_then_pid, 30))
    await asyncio.sleep(0.5)
    # When that call is cancelled (as a job's time limit cancels its coroutine)
    started = time.monotonic()
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    # Then its child is gone at once
    assert time.monotonic() - started < 1.0
    assert not alive(child)
    # And the next call gets a fresh child right away, not after 30 s
    pid = await asyncio.wait_for(pool.run_async(sleep_then_pid, 0), timeout=10)
    assert pid != child


async def test_a_call_cancelled_while_waiting_for_a_child_never_runs(pool: IsolatedPool) -> None:
    # Given a call holding the only child and a second one waiting for it
    first = asyncio.ensure_future(pool.run_async(sleep_then_pid, 1))
    await asyncio.sleep(0.2)
    waiting = asyncio.ensure_future(pool.run_async(sleep_then_pid, 30))
    await asyncio.sleep(0.2)
    # When the waiting call is cancelled
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    # Then the first finishes, and the slot is free again soon after (the
    # cancelled call did not take it for 30 s)
    await first
    pid = await asyncio.wait_for(pool.run_async(sleep_then_pid, 0), timeout=5)
    assert pid > 0
