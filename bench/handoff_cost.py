"""CPU per bookkeeping request handed from worker threads to the event loop:
Dramatiq's ``run_coroutine`` around ``GroupCommit.submit`` (the job engine
before) against ``GroupCommit.call`` (now), in one process, same run.

Eight threads send requests in a loop; the batch function does no I/O and
yields for 0.5 ms (a statement's round trip), so what is measured is the
hand-off and the batching, not PostgreSQL. CPU seconds of the process per
request (``time.process_time``) do not depend on how busy the machine is
the way requests per second do.

    .venv/bin/python bench/handoff_cost.py --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
import time
from collections.abc import Sequence

from dramatiq.asyncio import EventLoopThread

from folio_shared.jobs.bookkeeper import GroupCommit

MODES = ("run_coroutine", "call")


async def _statement(requests: Sequence[int]) -> list[int]:
    await asyncio.sleep(0.0005)
    return list(requests)


def measure(mode: str, threads: int, per_thread: int) -> tuple[float, float, float]:
    """CPU µs per request, requests per second, requests per batch."""
    loop_thread = EventLoopThread(logging.getLogger(__name__))
    loop_thread.start(timeout=5)
    group: GroupCommit[int, int] = GroupCommit(_statement, key=lambda r: r)

    def work(base: int) -> None:
        for i in range(per_thread):
            if mode == "run_coroutine":
                loop_thread.run_coroutine(group.submit(base + i))
            else:
                group.call(loop_thread.loop, base + i)

    workers = [threading.Thread(target=work, args=(k * 10**6,)) for k in range(threads)]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    loop_thread.stop()  # type: ignore[no-untyped-call]
    n = threads * per_thread
    return cpu / n * 1e6, n / wall, group.requests / max(group.batches, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1500, help="per thread and round")
    args = parser.parse_args()
    print("| round | hand-off | CPU µs per request | requests/s | requests per batch |")
    print("|---:|---|---:|---:|---:|")
    for r in range(1, args.rounds + 1):
        for mode in MODES:
            cpu, rate, per = measure(mode, args.threads, args.requests)
            print(f"| {r} | {mode} | {cpu:.1f} | {rate:,.0f} | {per:.1f} |", flush=True)


if __name__ == "__main__":
    main()
