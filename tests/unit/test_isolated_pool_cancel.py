"""A cancelled call (a job's time limit cancels its coroutine) kills its
child at once and frees the pool's slot: the next call does not wait for
the abandoned one. Real child processes; no servers."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from folio_shared.isolation import IsolatedPool


def sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def mark_then_sleep(path: str, seconds: float) -> int:
    """Create the file at ``path`` (the call has begun in the child), then sleep."""
    Path(path).touch()
    time.sleep(seconds)
    return os.getpid()


async def until_exists(path: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, "the child never began the call"
        await asyncio.sleep(0.02)


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


async def test_a_cancelled_call_kills_its_child_and_frees_the_slot(
    pool: IsolatedPool, tmp_path: Path
) -> None:
    # Given the pool's only child busy with a long call (begun: a call
    # cancelled before it reaches the child leaves the child alone)
    (child,) = pool.pids()
    begun = tmp_path / "begun"
    slow = asyncio.ensure_future(pool.run_async(mark_then_sleep, str(begun), 30))
    await until_exists(begun)
    # When that call is cancelled (as a job's time limit cancels its coroutine)
    started = time.monotonic()
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    # Then its child is gone at once (not after its 30 s; a loaded machine
    # may take a second or two to schedule the kill)
    assert time.monotonic() - started < 5.0
    assert not alive(child)
    # And the next call gets a fresh child right away, not after 30 s
    pid = await asyncio.wait_for(pool.run_async(sleep_then_pid, 0), timeout=10)
    assert pid != child


async def test_a_call_cancelled_while_waiting_for_a_child_never_runs(
    pool: IsolatedPool, tmp_path: Path
) -> None:
    # Given a call holding the only child and a second one waiting for it
    begun = tmp_path / "begun"
    first = asyncio.ensure_future(pool.run_async(mark_then_sleep, str(begun), 1))
    await until_exists(begun)
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
