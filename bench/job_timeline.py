"""Where a tracked no-op job's wall time goes in one Folio worker process:
a timeline per message (handed out by the consumer, claim round, actor,
outcome round, ack) and per worker thread (how long it sits idle, waiting
for work or for a round).

Starts its own Redis and PostgreSQL (``--fsync`` for fsync on), queues the
jobs as ``broker_overhead.py`` does, runs one worker process with
``bench/noop/timeline_probe.py`` recording timestamps, stops it gracefully
once every job succeeded, and reports over the steady part of the run
(jobs acked between 10 and 90 % of the run):

- the share of the worker threads' time in each step, and each step's
  mean and 90th percentile per job;
- the claim and outcome waits split into: waiting for the round already
  in flight, the job's own round, and the wake-up after it;
- the rounds (requests per round, duration, share of time one is in
  flight) and the consumers' empty or sleeping polls.

The probe adds a few microseconds per step; compare the shares, and the
rate with ``broker_overhead.py`` for the same code.

    .venv/bin/python bench/job_timeline.py --jobs 5000 [--fsync] [--threads 8]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import signal
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _servers import BenchServers, folio_worker_argv, workers
from broker_overhead import _create_folio_jobs
from worker_profile import _wait_done

#: Environment variable naming the file the worker writes its timeline to
#: (read by ``bench/noop/folio_worker.py``).
TIMELINE_ENV = "BENCH_TIMELINE_OUT"

STEPS = (
    ("queued", "in the work queue (consumer → thread)"),
    ("pre", "hooks before the claim"),
    ("claim", "claim hand-off (wait)"),
    ("actor", "actor and hooks between"),
    ("outcome", "outcome hand-off (wait)"),
    ("post", "hooks after the outcome"),
    ("ack", "ack (Redis script, hooks)"),
)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _jobs(records: list[list[Any]]) -> tuple[list[dict[str, float]], dict[int, list[Any]]]:
    """Per message: its timestamps; per thread: its records in order."""
    handed: dict[str, float] = {}
    by_thread: dict[int, list[Any]] = defaultdict(list)
    for r in records:
        if r[0] == "next" and r[2] is not None:
            handed[r[2]] = r[4]
        elif r[0] in ("start", "done", "skip", "ack"):
            by_thread[r[1]].append((r[3], r[0], r[2], None))
        elif r[0] in ("claim", "outcome"):
            by_thread[r[1]].append((r[3], r[0], r[3], r[4]))
    jobs: list[dict[str, float]] = []
    for events in by_thread.values():
        events.sort(key=lambda e: e[0])
        job: dict[str, float] = {}
        for t, kind, ident, t1 in events:
            if kind == "start":
                job = {"start": t, "handed": handed.get(ident, t)}
            elif kind in ("claim", "outcome"):
                job[kind + "0"], job[kind + "1"] = ident, t1
            elif kind in ("done", "skip"):
                job["done"] = t
            elif kind == "ack" and "claim1" in job and "outcome1" in job:
                job["ack"] = t
                jobs.append(job)
                job = {}
    return jobs, by_thread


def _steps(job: dict[str, float]) -> dict[str, float]:
    return {
        "queued": job["start"] - job["handed"],
        "pre": job["claim0"] - job["start"],
        "claim": job["claim1"] - job["claim0"],
        "actor": job["outcome0"] - job["claim1"],
        "outcome": job["outcome1"] - job["outcome0"],
        "post": job["done"] - job["outcome1"],
        "ack": job["ack"] - job["done"],
    }


def _split_waits(
    jobs: list[dict[str, float]], rounds: list[tuple[float, float, int, int, float]]
) -> dict[str, list[float]]:
    """Each hand-off's wait: for the round in flight, its own round, the wake."""
    starts = [r[0] for r in rounds]
    out: dict[str, list[float]] = defaultdict(list)
    for job in jobs:
        for kind in ("claim", "outcome"):
            t0, t1 = job[kind + "0"], job[kind + "1"]
            # its round: the last one that started before it returned
            i = bisect.bisect_right(starts, t1) - 1
            while i >= 0 and rounds[i][1] > t1:
                i -= 1
            if i < 0 or rounds[i][0] < t0:
                continue
            start, end = rounds[i][0], rounds[i][1]
            out[kind + " before its round"].append(start - t0)
            out[kind + " its round"].append(end - start)
            out[kind + " wake after"].append(t1 - end)
    return out


def report(path: Path, threads: int) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    jobs, by_thread = _jobs(records)
    if not jobs:
        raise SystemExit("no complete job in the timeline")
    acks = sorted(j["ack"] for j in jobs)
    lo, hi = acks[len(acks) // 10], acks[(9 * len(acks)) // 10]
    window = [j for j in jobs if lo <= j["ack"] <= hi]
    span = hi - lo
    print(f"{len(jobs)} jobs in the timeline; steady window {span:.2f} s, {len(window)} jobs")
    print(f"rate in the window: {len(window) / span:,.0f} jobs/s\n")
    steps = [_steps(j) for j in window]
    thread_s = threads * span
    print("| step | share of thread time | mean ms | p90 ms |")
    print("|---|---:|---:|---:|")
    busy = 0.0
    for key, title in STEPS:
        values = [s[key] for s in steps]
        total = sum(values)
        if key != "queued":
            busy += total
        print(
            f"| {title} | {100 * total / thread_s:.1f} % |"
            f" {1000 * total / len(values):.3f} | {1000 * _pct(values, 0.9):.3f} |"
        )
    # between a thread's ack and its next message's start: waiting for work
    idle = 0.0
    for events in by_thread.values():
        last_ack = None
        for t, kind, _, _ in sorted(events, key=lambda e: e[0]):
            if kind == "ack":
                last_ack = t
            elif kind == "start" and last_ack is not None:
                if lo <= t <= hi:
                    idle += t - last_ack
                last_ack = None
    print(f"| idle, waiting for a message | {100 * idle / thread_s:.1f} % | | |")
    print(f"| (steps from start to ack) | {100 * busy / thread_s:.1f} % | | |")
    rounds = sorted((r[3], r[4], r[1], r[2], r[5]) for r in records if r[0] == "round")
    waits = _split_waits(window, rounds)
    print("\n| wait | mean ms | p90 ms |")
    print("|---|---:|---:|")
    for key in sorted(waits):
        v = waits[key]
        print(f"| {key} | {1000 * sum(v) / len(v):.3f} | {1000 * _pct(v, 0.9):.3f} |")
    steady = [r for r in rounds if lo <= r[0] <= hi]
    if steady:
        sizes = [r[2] + r[3] for r in steady]
        durations = [r[1] - r[0] for r in steady]
        inflight = sum(durations)
        print(
            f"\nrounds in the window: {len(steady)}, {sum(sizes) / len(steady):.2f} requests"
            f" each ({sum(r[2] for r in steady) / len(steady):.2f} claims),"
            f" {1000 * inflight / len(steady):.3f} ms each (p90"
            f" {1000 * _pct(durations, 0.9):.3f}); one in flight {100 * inflight / span:.0f} %"
            " of the time;"
            f" the event-loop thread's CPU {1000 * sum(r[4] for r in steady) / len(steady):.3f}"
            " ms per round"
        )
    polls: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r[0] == "next" and r[2] is None and lo <= r[3] <= hi:
            polls[r[1]].append(r[4] - r[3])
    for queue, v in sorted(polls.items()):
        print(
            f"consumer {queue}: {len(v)} empty polls in the window,"
            f" {sum(v):.2f} s in them ({1000 * sum(v) / len(v):.1f} ms each)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=8, help="threads of the worker process")
    parser.add_argument("--fsync", action="store_true", help="PostgreSQL fsync on")
    parser.add_argument("--timeout-s", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=None, help="timeline file (default: temp)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="folio-timeline-")) / "timeline.jsonl"
    print(f"load: {os.getloadavg()[0]:.1f}")
    with BenchServers(fsync=args.fsync) as servers:
        servers.flush_redis()
        asyncio.run(_create_folio_jobs(servers, args.jobs))
        with workers(servers.root / "logs") as group:
            group.spawn(
                folio_worker_argv(1, args.threads),
                servers.folio_env(**{TIMELINE_ENV: str(out)}),
                "folio",
            )
            seconds = _wait_done(servers, args.jobs, args.timeout_s)
            for proc in group.procs:  # graceful: the worker writes its timeline at shutdown
                proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 60
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
    print(f"{args.jobs} jobs in {seconds:.1f} s from the worker's start; timeline {out}")
    print(f"load: {os.getloadavg()[0]:.1f}\n")
    report(out, args.threads)


if __name__ == "__main__":
    main()
