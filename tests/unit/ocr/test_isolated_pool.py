"""IsolatedPool: limits kill a child, never the caller, and the pool keeps serving."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from folio_shared.errors import ChildReplyUnreadable, FolioError
from folio_shared.isolation import (
    ChildCrashed,
    ChildRaised,
    ChildTimedOut,
    IsolatedPool,
    PoolClosed,
)

# --- functions run in the children (module level: they are pickled by name) ---


def add(a: int, b: int) -> int:
    return a + b


def whoami() -> int:
    return os.getpid()


def sleep_forever() -> None:
    while True:
        time.sleep(3600)


def burn_cpu(seconds: float) -> int:
    """Spin for ``seconds`` of wall time (however much CPU that gets)."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def burn_cpu_time(seconds: float) -> int:
    """Spin until this call has used ``seconds`` of CPU, however long that
    takes on a loaded machine."""
    end = time.process_time() + seconds
    n = 0
    while time.process_time() < end:
        n += 1
    return n


def burn_cpu_until_ticks(path: str, ticks: int) -> int:
    """Spin until the count in the file at ``path`` has grown by ``ticks``;
    returns how much it grew."""
    counter = Path(path)
    start = seen = int(counter.read_text())
    while seen - start < ticks:
        for _ in range(10_000):
            pass
        seen = int(counter.read_text())
    return seen - start


def allocate(n_bytes: int) -> int:
    block = bytearray(n_bytes)
    return len(block)


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def raise_folio_error() -> None:
    raise FolioError("broken page", page_no=3)


class Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickling calls cls(*args): fails
        super().__init__(f"{a}/{b}")


def raise_unpicklable() -> None:
    raise Unpicklable(1, 2)


class Touches:
    """Unpickling this runs ``Path.touch`` on ``path``: a stand-in for any
    code a compromised child would have its parent run."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (Path(self.path),))


def return_touches(path: str) -> object:
    return Touches(path)


def claims_an_int() -> int:
    return "not an int"  # type: ignore[return-value]


_state: dict[str, int] = {}


def remember_init(value: int) -> None:
    _state["init"] = value
    _state["calls"] = 0


def read_state() -> tuple[int, int, int]:
    _state["calls"] += 1
    return _state["init"], _state["calls"], os.getpid()


# --- tests -------------------------------------------------------------------


@pytest.fixture
def pool() -> Iterator[IsolatedPool]:
    with IsolatedPool(
        2, memory_limit_bytes=512 * 1024**2, cpu_time_limit_s=30, wall_time_limit_s=30
    ) as p:
        yield p


def test_runs_function_in_another_process(pool: IsolatedPool) -> None:
    assert pool.run(add, 2, 3) == 5
    assert pool.run(whoami) != os.getpid()


def test_hang_times_out_near_the_limit_and_pool_keeps_working(pool: IsolatedPool) -> None:
    began = time.monotonic()
    with pytest.raises(ChildTimedOut) as info:
        pool.run(sleep_forever, timeout_s=1.0)
    elapsed = time.monotonic() - began
    assert 1.0 <= elapsed < 3.0
    assert info.value.details["kind"] == "wall"
    assert info.value.details["limit_s"] == 1.0
    assert pool.run(add, 1, 1) == 2


def test_killed_child_is_reported_and_replaced(pool: IsolatedPool) -> None:
    with pytest.raises(ChildCrashed) as info:
        pool.run(kill_self)
    assert info.value.details["reason"] == "signal"
    assert "SIGKILL" in str(info.value)
    assert pool.run(add, 2, 2) == 4


def test_memory_limit_is_reported_as_out_of_memory(pool: IsolatedPool) -> None:
    with pytest.raises(ChildCrashed) as info:
        pool.run(allocate, 2 * 1024**3)
    assert info.value.details["reason"] == "out_of_memory"
    assert "out of memory" in str(info.value)
    assert pool.run(allocate, 10 * 1024**2) == 10 * 1024**2


def test_cpu_limit_kills_a_spinning_child() -> None:
    # The child spins for CPU seconds, not wall seconds: on a loaded machine
    # 10 s of wall time held less CPU than the limit allows, and the call
    # returned instead of being killed. The wall limit is far above what the
    # limit's CPU takes there, so only the CPU limit can end the call.
    with IsolatedPool(1, cpu_time_limit_s=1, wall_time_limit_s=200) as pool:
        assert pool.run(burn_cpu_time, 0.2) > 0  # CPU used before re-arming counts not
        with pytest.raises(ChildTimedOut) as info:
            pool.run(burn_cpu_time, 10.0)
        assert info.value.details["kind"] == "cpu"
        assert pool.run(add, 3, 4) == 7


def test_exceptions_come_back_as_raised(pool: IsolatedPool) -> None:
    with pytest.raises(FolioError) as info:
        pool.run(raise_folio_error)
    assert str(info.value) == "broken page"
    assert info.value.details == {"page_no": 3}
    with pytest.raises(ChildRaised) as raised:
        pool.run(raise_unpicklable)
    assert raised.value.details["type"] == "Unpicklable"
    assert "1/2" in str(raised.value)


def test_initializer_runs_once_per_child_and_children_are_recycled() -> None:
    with IsolatedPool(1, initializer=remember_init, initargs=(42,), max_tasks_per_child=3) as pool:
        first = [pool.run(read_state) for _ in range(3)]
        fourth = pool.run(read_state)
    assert [(init, calls) for init, calls, _ in first] == [(42, 1), (42, 2), (42, 3)]
    assert len({pid for _, _, pid in first}) == 1
    assert fourth[:2] == (42, 1)  # a fresh child, initialised again
    assert fourth[2] != first[0][2]


def test_a_child_is_replaced_when_its_result_says_so() -> None:
    # Given a pool of one child
    with IsolatedPool(1) as pool:
        first = pool.run(whoami)
        # When a call's result is judged fine, then judged to retire its child
        kept = pool.run(whoami, retire_if=lambda pid: pid != first)
        retired = pool.run(whoami, retire_if=lambda pid: pid == first)
        after = pool.run(whoami)
        # (and from a coroutine)
        retired_async = asyncio.run(pool.run_async(whoami, retire_if=lambda pid: True))
        last = pool.run(whoami)
    # Then the child served until a result retired it, and a fresh one follows
    assert kept == retired == first
    assert after != first
    assert retired_async == after
    assert last != after


def test_many_threads_share_the_pool(pool: IsolatedPool) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def call(i: int) -> None:
        value = pool.run(add, i, 1000)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [i + 1000 for i in range(40)]
    assert len(pool.pids()) == 2


def test_heartbeat_thread_keeps_ticking_while_a_child_burns_cpu(
    pool: IsolatedPool, tmp_path: Path
) -> None:
    # Given a heartbeat thread in the parent ticking every 50 ms, each tick
    # counted in a file the children can read
    interval_s = 0.05
    ticks, next_count = tmp_path / "ticks", tmp_path / "ticks.next"
    ticks.write_text("0")
    times: list[float] = []
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.is_set():
            times.append(time.monotonic())
            next_count.write_text(str(len(times)))
            next_count.replace(ticks)  # whole: a child never reads it half-written
            time.sleep(interval_s)

    beat = threading.Thread(target=heartbeat)
    beat.start()
    try:
        # When a child burns CPU until the parent's heartbeat has ticked 5
        # more times: were the waiting parent to hold the GIL, the heartbeat
        # could not tick and the call would run into its 30 s limit, however
        # loaded the machine (a bound on the gaps between ticks fails there)
        burned = pool.run(burn_cpu_until_ticks, str(ticks), 5)
        # and a child hangs until killed (4 s: longer than any gap seen)
        began = time.monotonic()
        with pytest.raises(ChildTimedOut):
            pool.run(sleep_forever, timeout_s=4.0)
        ended = time.monotonic()
    finally:
        stop.set()
        beat.join()
    # Then the heartbeat ticked all along the burning call, and during the hang
    assert burned >= 5
    assert any(began < t < ended for t in times)


def test_closed_pool_refuses_work() -> None:
    pool = IsolatedPool(1)
    assert pool.run(add, 1, 2) == 3
    pool.close()
    assert pool.pids() == []
    with pytest.raises(PoolClosed):
        pool.run(add, 1, 2)


SECRETS = {
    "FOLIO_DATABASE_URL": "postgresql://folio:hunter2@db.internal/folio",
    "FOLIO_S3_SECRET_ACCESS_KEY": "s3-secret-key-0123456789",
    "FOLIO_STORAGE_SIGNING_SECRET": "signing-secret-0123456789",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-0123456789",
}

CHILD_ENV_SCRIPT = """
import json, os, pathlib
from folio_shared.isolation import IsolatedPool
with IsolatedPool(1) as pool:
    environ = pool.run(pathlib.Path.read_bytes, pathlib.Path("/proc/self/environ"))
    print(json.dumps({
        "database_url": pool.run(os.getenv, "FOLIO_DATABASE_URL"),
        "path": pool.run(os.getenv, "PATH"),
        "proc_environ": environ.decode(errors="replace"),
        "parent_still_has": os.getenv("FOLIO_DATABASE_URL"),
    }))
"""


def test_children_do_not_see_the_workers_secrets() -> None:
    # Given a worker process whose environment holds its secrets
    env = {**os.environ, **SECRETS}
    # When its isolated child reads its own environment
    out = subprocess.run(
        [sys.executable, "-c", CHILD_ENV_SCRIPT],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    seen = json.loads(out.stdout)
    # Then none of them is there (nor in the process's memory of it)
    assert seen["database_url"] is None
    for value in SECRETS.values():
        assert value not in seen["proc_environ"]
    assert seen["path"] == os.environ["PATH"]
    assert seen["parent_still_has"] == SECRETS["FOLIO_DATABASE_URL"]


def test_the_parent_never_unpickles_a_reply(pool: IsolatedPool, tmp_path: Path) -> None:
    marker = tmp_path / "ran-in-the-parent"
    with pytest.raises(ChildRaised):
        pool.run(return_touches, str(marker))
    assert not marker.exists()
    assert pool.run(add, 1, 2) == 3


def test_a_reply_of_another_type_is_refused_and_its_child_replaced(pool: IsolatedPool) -> None:
    with pytest.raises(ChildReplyUnreadable):
        pool.run(claims_an_int)
    assert pool.run(add, 2, 2) == 4
