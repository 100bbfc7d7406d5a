"""GroupCommit: requests waiting together go as one batch, a lone request
goes at once, and a failed batch fails only its own requests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import pytest

from folio_shared.jobs.bookkeeper import GroupCommit
from folio_shared.jobs.waiters import ThreadWaiter


class Recorder:
    def __init__(self, fail_on: int | None = None, deadlock: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_on = fail_on
        self.deadlock = deadlock

    async def run(self, requests: Sequence[int]) -> list[int]:
        self.batches.append(list(requests))
        await self.gate.wait()
        if self.deadlock and len(requests) > 1:
            raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
        if self.fail_on in requests:
            raise RuntimeError("batch failed")
        return [r * 10 for r in requests]


async def test_a_lone_request_goes_at_once_as_a_batch_of_one() -> None:
    rec = Recorder()
    group: GroupCommit[int, int] = GroupCommit(rec.run, key=lambda r: r)
    assert await asyncio.wait_for(group.submit(7), timeout=1) == 70
    assert rec.batches == [[7]]


async def test_requests_arriving_during_a_batch_go_together_and_keys_are_unique() -> None:
    rec = Recorder()
    rec.gate.clear()
    group: GroupCommit[int, int] = GroupCommit(rec.run, key=lambda r: r, max_batch=4)
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0.01)  # the first batch is in flight, held at the gate
    rest = [asyncio.ensure_future(group.submit(n)) for n in (2, 3, 3, 4, 5, 6)]
    await asyncio.sleep(0.01)
    rec.gate.set()
    assert await first == 10
    assert [await f for f in rest] == [20, 30, 30, 40, 50, 60]
    # one statement for the first, then at most 4 distinct keys per batch
    assert rec.batches == [[1], [2, 3, 4, 5], [3, 6]]


async def test_a_failed_batch_fails_its_own_requests_only() -> None:
    rec = Recorder(fail_on=2)
    rec.gate.clear()
    group: GroupCommit[int, int] = GroupCommit(rec.run, key=lambda r: r, max_batch=2)
    first = asyncio.ensure_future(group.submit(9))
    await asyncio.sleep(0.01)
    rest = [asyncio.ensure_future(group.submit(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0.01)
    rec.gate.set()
    assert await first == 90
    for f in rest[:2]:
        with pytest.raises(RuntimeError):
            await f
    assert await rest[2] == 30


async def test_a_deadlocked_batch_is_run_one_by_one() -> None:
    rec = Recorder(deadlock=True)
    rec.gate.clear()
    group: GroupCommit[int, int] = GroupCommit(rec.run, key=lambda r: r)
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0.01)
    rest = [asyncio.ensure_future(group.submit(n)) for n in (2, 3)]
    await asyncio.sleep(0.01)
    rec.gate.set()
    assert [await first] + [await f for f in rest] == [10, 20, 30]
    assert rec.batches == [[1], [2, 3], [2], [3]]


async def test_requests_from_threads_wake_the_loop_once_and_go_together() -> None:
    rec = Recorder()
    rec.gate.clear()
    group: GroupCommit[int, int] = GroupCommit(rec.run, key=lambda r: r)
    loop = asyncio.get_running_loop()
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0.01)  # the first batch is in flight, held at the gate
    seen: list[int] = []
    calls = [
        asyncio.ensure_future(asyncio.to_thread(group.call, loop, n, seen.append))
        for n in (2, 3, 4)
    ]
    while len(group._inbox) + len(group._pending) < 3:
        await asyncio.sleep(0.005)
    rec.gate.set()
    assert await first == 10
    assert [await c for c in calls] == [20, 30, 40]
    assert sorted(seen) == [20, 30, 40]  # each ``then`` ran, on the loop
    assert rec.batches[0] == [1]
    assert sorted(rec.batches[1]) == [2, 3, 4]


async def test_a_failed_batch_raises_in_the_waiting_thread() -> None:
    rec = Recorder(fail_on=5)
    group: GroupCommit[int, int] = GroupCommit(rec.run, key=lambda r: r)
    loop = asyncio.get_running_loop()
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="batch failed"):
        await asyncio.to_thread(group.call, loop, 5, seen.append)
    assert seen == []  # ``then`` runs for results only
    assert await asyncio.to_thread(group.call, loop, 6) == 60


async def test_an_abandoned_request_is_not_sent() -> None:
    rec = Recorder()
    rec.gate.clear()
    group: GroupCommit[int, int] = GroupCommit(rec.run, key=lambda r: r)
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0.01)
    waiter = ThreadWaiter[int]()
    waiter.abandoned = True  # its thread was interrupted while it waited
    group._pending.append((2, waiter, None))
    rec.gate.set()
    assert await first == 10
    await asyncio.sleep(0.01)
    assert rec.batches == [[1]]


async def test_a_posted_request_returns_at_once_and_tells_when_its_batch_ended() -> None:
    rec = Recorder(fail_on=8)
    rec.gate.clear()
    group: GroupCommit[int, int] = GroupCommit(rec.run, key=lambda r: r)
    loop = asyncio.get_running_loop()
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0.01)  # the first batch is in flight, held at the gate
    # Given a request posted from a thread while a batch is in flight
    seen: list[int] = []
    ended: list[str] = []
    ok = await asyncio.to_thread(group.post, loop, 7, seen.append)
    ok.when_done(lambda: ended.append("ok"))
    # Then the thread got it back before it was sent
    await asyncio.sleep(0.01)
    assert not ok.done()
    assert ended == []
    assert rec.batches == [[1]]
    # When the batches run, Then its callbacks run once its batch committed
    rec.gate.set()
    assert await first == 10
    while not ok.done():
        await asyncio.sleep(0.005)
    assert (ended, ok.error, seen, rec.batches) == (["ok"], None, [70], [[1], [7]])
    late: list[str] = []
    ok.when_done(lambda: late.append("now"))  # after the end: at once
    assert late == ["now"]
    # And a request whose batch failed ends too, with the batch's error
    failed = await asyncio.to_thread(group.post, loop, 8, seen.append)
    failed.when_done(lambda: ended.append("failed"))
    while not failed.done():
        await asyncio.sleep(0.005)
    assert isinstance(failed.error, RuntimeError)
    assert ended == ["ok", "failed"]
    assert seen == [70]  # ``then``: results only
