"""Where a Folio worker process spends its CPU per tracked no-op job, by
function: a deterministic profile (yappi, CPU clock, every thread) of one
worker process draining ``--jobs`` jobs.

Starts its own Redis and PostgreSQL, queues the jobs as
``broker_overhead.py`` does, runs one worker process (``--threads``
threads) with profiling on from the worker's boot to its shutdown, stops it
gracefully once every job succeeded and prints, per job: the CPU of each
thread kind, then the functions with the most CPU of their own (``own``)
and the most CPU including what they call (``total``). A deterministic
profiler inflates call-heavy code; compare rows with each other, and the
totals with ``broker_overhead.py``'s CPU ms per job.

    .venv/bin/python bench/worker_profile.py --jobs 5000 --top 40
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from _servers import BenchServers, folio_worker_argv, workers
from broker_overhead import _create_folio_jobs

#: Environment variable naming the file the worker writes its profile to
#: (read by ``bench/noop/folio_worker.py``).
PROFILE_ENV = "BENCH_PROFILE_OUT"


def _wait_done(servers: BenchServers, jobs: int, timeout_s: float) -> float:
    engine = sa.create_engine(
        servers.database_url.replace("postgresql://", "postgresql+psycopg2://")
    )
    count_sql = sa.text("SELECT count(*) FROM jobs WHERE status = 'succeeded'")
    started = time.monotonic()
    try:
        with engine.connect() as conn:
            while time.monotonic() - started < timeout_s:
                done = int(conn.execute(count_sql).scalar_one())
                conn.commit()
                if done >= jobs:
                    return time.monotonic() - started
                time.sleep(0.05)
    finally:
        engine.dispose()
    raise RuntimeError(f"jobs not done after {timeout_s:g} s")


def report(path: Path, jobs: int, top: int) -> None:
    import yappi

    stats = yappi.YFuncStats(str(path))
    per_job = 1e6 / jobs
    print(f"Python function calls per job: {sum(fn.ncall for fn in stats) / jobs:,.0f}")
    names = path.with_suffix(".threads").read_text().splitlines()
    print("CPU µs per job by thread kind:")
    kinds: dict[str, float] = {}
    for line in names:
        name, seconds = line.rsplit("\t", 1)
        kinds[name] = kinds.get(name, 0.0) + float(seconds)
    for kind, cpu in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<28} {cpu * per_job:8.1f}")
    print(f"  {'all':<28} {sum(kinds.values()) * per_job:8.1f}")
    for key, title in (("tsub", "own"), ("ttot", "total")):
        stats.sort(key, "desc")
        print(f"\nTop {top} functions by {title} CPU, µs per job (calls per job):")
        for fn in list(stats)[:top]:
            where = f"{Path(fn.module).name}:{fn.lineno} {fn.name}"
            value = fn.tsub if key == "tsub" else fn.ttot
            print(f"  {value * per_job:8.1f}  ({fn.ncall / jobs:5.1f})  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=8, help="threads of the worker process")
    parser.add_argument("--top", type=int, default=40, help="functions listed")
    parser.add_argument("--timeout-s", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=None, help="profile file (default: temp)")
    parser.add_argument(
        "--actor", choices=("sync", "async"), default="sync", help="the no-op actor's kind"
    )
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="folio-profile-")) / "worker.prof"
    with BenchServers() as servers:
        servers.flush_redis()
        asyncio.run(_create_folio_jobs(servers, args.jobs))
        with workers(servers.root / "logs") as group:
            group.spawn(
                folio_worker_argv(1, args.threads),
                servers.folio_env(**{PROFILE_ENV: str(out), "BENCH_FOLIO_ACTOR": args.actor}),
                "folio",
            )
            seconds = _wait_done(servers, args.jobs, args.timeout_s)
            for proc in group.procs:  # graceful: the worker writes its profile at shutdown
                proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 60
            while not out.with_suffix(".threads").exists() and time.monotonic() < deadline:
                time.sleep(0.2)
    print(f"{args.jobs} jobs in {seconds:.1f} s under the profiler; profile {out}")
    print(f"load: {os.getloadavg()[0]:.1f}\n")
    report(out, args.jobs, args.top)


if __name__ == "__main__":
    main()
