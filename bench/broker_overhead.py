"""Broker overhead: no-op jobs per second through Folio's job engine, side by
side with raw Dramatiq, Celery and RQ on the same Redis.

Starts its own Redis and PostgreSQL (pgvector, migrated), then for each
system and each worker-process count queues the jobs first and measures
from the moment the workers are started until the last job is done:

- ``folio``: tracked jobs created with the outbox beforehand
  (``outbox.enqueue`` + ``dispatch``: job row, message on Redis, not
  timed); the worker is Folio's supervised worker
  (``folio_shared.worker.supervise``) with the full middleware stack
  (claim with a lease, outcome, events); done when the last job row is
  ``succeeded``. Progress is read, like the others', from Redis: the
  messages left in Folio's queues (a message is acked only once its outcome
  is committed); the job rows are counted once Redis says all are done.
  (A ``count(*)`` of succeeded rows at every poll cost PostgreSQL 4-5 ms of
  CPU at 20,000 rows, growing with the run: CPU the others' constant-time
  Redis reads do not take from the workers.) Its no-op actor is a plain
  ``def`` (as the others' are).
- ``folio-async``: the same, the actor ``async def`` (run on the event loop).
- ``dramatiq``: a plain ``RedisBroker`` with Dramatiq's default middleware,
  ``python -m dramatiq``; done when the queue holds no message.
- ``celery``: the Redis broker, no result backend, ``--pool threads``,
  acks late; done when the queue and the unacked set are empty.
- ``rq``: ``rq worker --burst`` (a work horse per job); done when all exited.

Each worker process runs ``--threads`` threads (Celery: ``-c``; RQ: one job
at a time). A system's processes share one session (``spawn_together``).

    .venv/bin/python bench/broker_overhead.py --jobs 20000 --processes 1 2
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dramatiq
import redis
import sqlalchemy as sa
from _broker_report import Result, table
from _cpu_meter import cpu_by_role, session_cpu_s
from _servers import (
    NAMESPACE,
    BenchServers,
    NoopV1,
    WorkerGroup,
    folio_worker_argv,
    wait_until,
    workers,
)
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.ext.asyncio import create_async_engine

from folio_shared.broker import create_broker
from folio_shared.db.engine import async_database_url, create_session_factory
from folio_shared.jobs import outbox

SYSTEMS = ("folio", "folio-async", "dramatiq", "celery", "rq")
#: Statements of the job engine's batches (a statement's now() is shared by
#: every job it claimed or finished): with claims, with outcomes, all.
STATEMENTS_SQL = """SELECT greatest(count(DISTINCT (worker, started_at)), 1),
  greatest(count(DISTINCT (worker, finished_at)), 1), greatest((SELECT count(*) FROM (SELECT
  worker, started_at FROM jobs UNION SELECT worker, finished_at FROM jobs) s), 1) FROM jobs"""
POLL_S = 0.05
#: Stragglers: jobs that finished long after nearly all others (re-sent ones).
LATE_SQL = """
SELECT count(*) FROM jobs WHERE finished_at > 5 * interval '1 second' + (
  SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY finished_at) FROM jobs)
"""


class Timeout(RuntimeError):
    pass


class CpuUse:
    """CPU seconds so far of the workers (the sessions of ``group``'s
    processes: each is started in its own), PostgreSQL and Redis."""

    def __init__(self, servers: BenchServers, group: WorkerGroup) -> None:
        self.servers = servers
        self.group = group

    def __call__(self) -> dict[str, float]:
        used = cpu_by_role(-1, self.servers.root, self.servers.redis.port)
        sessions = {p.pid for p in self.group.procs}
        return {"worker": session_cpu_s(sessions), "pg": used["postgres"], "redis": used["redis"]}


class Progress:
    """Polled completion: the first job done (printed), 10 % and 90 % done (the steady rate
    between them leaves out start-up and the tail) and, with ``cpu``, CPU per part between."""

    def __init__(self, total: int, deadline_s: float, cpu: CpuUse | None = None) -> None:
        self.total = total
        self.deadline_s = deadline_s
        self.started = time.monotonic()
        self.marks: dict[float, tuple[float, int]] = {}
        self.cpu = cpu
        self.cpu_marks: dict[float, dict[str, float]] = {}
        self.first_s: float | None = None

    def update(self, done: int) -> bool:
        now = time.monotonic()
        if done and self.first_s is None:  # the workers' start: imports, boot, first claim
            self.first_s = now - self.started
            print(f"    first job done {self.first_s:.1f} s after the workers started", flush=True)
        for frac in (0.1, 0.9):
            if frac not in self.marks and done >= frac * self.total:
                self.marks[frac] = (now, done)
                if self.cpu is not None:
                    self.cpu_marks[frac] = self.cpu()
        if done >= self.total:
            self.finished = now
            return True
        if now - self.started > self.deadline_s:
            raise Timeout(f"{done}/{self.total} jobs done after {self.deadline_s:g} s")
        return False

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    @property
    def cpu_ms_per_job(self) -> dict[str, float] | None:
        if len(self.cpu_marks) < 2:
            return None
        jobs = self.marks[0.9][1] - self.marks[0.1][1]
        if jobs <= 0:
            return None
        a, b = self.cpu_marks[0.1], self.cpu_marks[0.9]
        return {part: (b[part] - a[part]) * 1000 / jobs for part in a}

    @property
    def steady(self) -> float | None:
        if 0.1 not in self.marks or 0.9 not in self.marks:
            return None
        (t1, n1), (t2, n2) = self.marks[0.1], self.marks[0.9]
        return (n2 - n1) / (t2 - t1) if t2 > t1 else None


# -- Folio ----------------------------------------------------------------------


async def _create_folio_jobs(servers: BenchServers, count: int) -> float:
    """Create ``count`` tracked jobs with the outbox; returns seconds taken."""
    settings = servers.folio_settings()
    engine = create_async_engine(async_database_url(servers.database_url))
    broker = create_broker(settings)
    sessions = create_session_factory(engine)
    started = time.monotonic()

    async def batch(n: int) -> None:
        async with sessions() as session:
            for _ in range(n):
                await outbox.enqueue(session, NoopV1(job_id=str(uuid.uuid4())))
            await session.commit()
            ids = outbox.pending_ids(session)
        async with engine.connect() as conn:
            sent = await outbox.dispatch(conn, broker, ids)
        if sent != n:
            raise RuntimeError(f"dispatch sent {sent} of {n} jobs")

    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("TRUNCATE jobs CASCADE"))
        sizes = [min(500, count - i) for i in range(0, count, 500)]
        for start in range(0, len(sizes), 4):  # four batches at a time
            await asyncio.gather(*(batch(n) for n in sizes[start : start + 4]))
        return time.monotonic() - started
    finally:
        broker.close()
        await engine.dispose()


def run_folio(
    servers: BenchServers,
    jobs: int,
    processes: int,
    threads: int,
    args: Any,
    actor: str = "sync",
) -> Result:
    system = "folio" if actor == "sync" else f"folio-{actor}"
    servers.flush_redis()
    create_s = asyncio.run(_create_folio_jobs(servers, jobs))
    print(f"  folio: {jobs} jobs created with the outbox in {create_s:.1f} s", flush=True)
    engine = sa.create_engine(
        servers.database_url.replace("postgresql://", "postgresql+psycopg2://")
    )
    count_sql = sa.text("SELECT count(*) FROM jobs WHERE status = 'succeeded'")
    client = redis.Redis.from_url(servers.redis_url)
    queues = list(client.scan_iter(f"{NAMESPACE}:*.msgs"))  # the message bodies not yet acked
    with workers(args.log_dir) as group, engine.connect() as conn:
        progress = Progress(jobs, args.timeout_s, CpuUse(servers, group))
        env = servers.folio_env(BENCH_FOLIO_ACTOR=actor)
        group.spawn(folio_worker_argv(processes, threads), env, system)
        while True:
            pipe = client.pipeline(transaction=False)
            for key in queues:
                pipe.hlen(key)
            done = jobs - sum(int(n) for n in pipe.execute())
            if done >= jobs:  # every message acked: the rows say whether all succeeded
                done = int(conn.execute(count_sql).scalar_one())
                conn.commit()
            if progress.update(done):
                break
            time.sleep(POLL_S)
        rows = conn.execute(sa.text("SELECT status, count(*) FROM jobs GROUP BY status"))
        states = {str(status): int(n) for status, n in rows}
        late = conn.execute(sa.text(LATE_SQL)).scalar_one()
        claims, outcomes, statements = conn.execute(sa.text(STATEMENTS_SQL)).one()
    client.close()
    engine.dispose()
    print(
        f"  {system} x{processes}: {jobs / claims:.1f} claims per claim statement,"
        f" {jobs / outcomes:.1f} outcomes per outcome statement,"
        f" {2 * jobs / statements:.1f} claims and outcomes per statement",
        flush=True,
    )
    note = "" if states == {"succeeded": jobs} else f"states {states}"
    if late:
        note = f"{note} {late} jobs finished > 5 s after the 99th percentile".strip()
    return Result(
        system, processes, jobs, progress.seconds, progress.steady, note, progress.cpu_ms_per_job
    )


# -- raw Dramatiq ---------------------------------------------------------------


def run_dramatiq(
    servers: BenchServers, jobs: int, processes: int, threads: int, args: Any
) -> Result:
    servers.flush_redis()
    broker = RedisBroker(url=servers.redis_url)  # type: ignore[no-untyped-call]
    broker.declare_queue("bench")
    for _ in range(jobs):
        broker.enqueue(
            dramatiq.Message(
                queue_name="bench", actor_name="bench.noop", args=(), kwargs={}, options={}
            )
        )
    broker.close()
    client = redis.Redis.from_url(servers.redis_url)
    argv = [sys.executable, "-m", "dramatiq", "dramatiq_worker", "--queues", "bench"]
    argv += ["--processes", str(processes), "--threads", str(threads)]
    with workers(args.log_dir) as group:
        progress = Progress(jobs, args.timeout_s, CpuUse(servers, group))
        group.spawn(argv, servers.plain_env(), "dramatiq")
        while not progress.update(jobs - int(client.hlen("dramatiq:bench.msgs"))):
            time.sleep(POLL_S)
    client.close()
    return Result(
        "dramatiq", processes, jobs, progress.seconds, progress.steady, "", progress.cpu_ms_per_job
    )


# -- Celery ---------------------------------------------------------------------


def run_celery(servers: BenchServers, jobs: int, processes: int, threads: int, args: Any) -> Result:
    import os

    servers.flush_redis()
    os.environ["BENCH_REDIS_URL"] = servers.redis_url
    from celery_app import app, noop  # the app reads BENCH_REDIS_URL

    with app.producer_or_acquire() as producer:
        for _ in range(jobs):
            noop.apply_async(producer=producer)
    client = redis.Redis.from_url(servers.redis_url)
    with workers(args.log_dir) as group:
        progress = Progress(jobs, args.timeout_s, CpuUse(servers, group))
        argvs = []
        for i in range(processes):
            argv = [sys.executable, "-m", "celery", "-A", "celery_app", "worker"]
            argv += ["-P", "threads", "-c", str(threads), "-Q", "bench", "-n", f"bench{i}@%h"]
            argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            argv += ["--loglevel", "WARNING"]
            argvs.append(argv)
        group.spawn_together(argvs, servers.plain_env(), "celery")
        while not progress.update(jobs - int(client.llen("bench")) - int(client.hlen("unacked"))):
            time.sleep(POLL_S)
    client.close()
    return Result(
        "celery",
        processes,
        jobs,
        progress.seconds,
        progress.steady,
        "threads pool",
        progress.cpu_ms_per_job,
    )


# -- RQ -------------------------------------------------------------------------


def run_rq(servers: BenchServers, jobs: int, processes: int, threads: int, args: Any) -> Result:
    from rq import Queue
    from rq.registry import FailedJobRegistry

    servers.flush_redis()
    client = redis.Redis.from_url(servers.redis_url)
    queue = Queue("bench", connection=client)
    for _ in range(jobs):
        queue.enqueue("rq_tasks.noop", result_ttl=0)
    rq_bin = str(Path(sys.executable).with_name("rq"))
    with workers(args.log_dir) as group:
        started = time.monotonic()
        argv = [rq_bin, "worker", "--burst", "--url", servers.redis_url, "bench"]
        argv += ["--logging_level", "WARNING"]
        group.spawn_together([argv] * processes, servers.plain_env(), "rq")
        if not wait_until(lambda: not group.alive(), args.timeout_s, POLL_S):
            raise Timeout(f"RQ workers still running after {args.timeout_s:g} s")
        last = time.monotonic()
    failed = FailedJobRegistry("bench", connection=client).count
    left = len(queue)
    client.close()
    note = f"{failed} failed, {left} left" if failed or left else "forks per job"
    return Result("rq", processes, jobs, last - started, None, note)


RUNNERS: dict[str, Callable[[BenchServers, int, int, int, Any], Result]] = {
    "folio": run_folio,
    "folio-async": functools.partial(run_folio, actor="async"),
    "dramatiq": run_dramatiq,
    "celery": run_celery,
    "rq": run_rq,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per run (default 20000)")
    parser.add_argument("--rq-jobs", type=int, default=500, help="jobs per RQ run (default 500)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--fsync", action="store_true", help="PostgreSQL fsync on")
    parser.add_argument("--timeout-s", type=float, default=300.0, help="limit per run")
    parser.add_argument("--log-dir", type=Path, default=None, help="worker logs")
    args = parser.parse_args()
    results: list[Result] = []
    with BenchServers(fsync=args.fsync) as servers:
        args.log_dir = args.log_dir or servers.root / "logs"
        print(f"servers: redis {servers.redis_url}, postgres {servers.database_url}")
        print(f"worker logs: {args.log_dir}", flush=True)
        for system in ("dramatiq", *[s for s in args.systems if s != "dramatiq"]):
            if system not in args.systems:
                continue
            jobs = args.rq_jobs if system == "rq" else args.jobs
            for processes in args.processes:
                try:
                    result = RUNNERS[system](servers, jobs, processes, args.threads, args)
                except Timeout as e:
                    result = Result(system, processes, jobs, float("nan"), None, f"timeout: {e}")
                results.append(result)
                rate = f"{result.jobs_per_s:,.0f} jobs/s"
                print(f"  {system} x{processes}: {rate} {result.note}", flush=True)
    print()
    print(table(results))
    print(f"\n(namespace {NAMESPACE}; PostgreSQL fsync {'on' if args.fsync else 'off'})")


if __name__ == "__main__":
    main()
