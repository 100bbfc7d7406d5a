"""Shared helpers of the job-engine benchmarks: private servers, Folio worker
processes, tracked no-op jobs.

:class:`BenchServers` starts a Redis and a PostgreSQL (pgvector) of the
benchmark's own on free loopback ports, with a fresh migrated database, and
stops them at the end. :class:`WorkerGroup` runs worker processes in their
own process group and kills the whole group when done.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from folio_devstack.ports import pick_port
from folio_devstack.servers import PostgresServer, RedisServer
from folio_shared.db import migrate
from folio_shared.db.engine import async_database_url
from folio_shared.db.enums import JobStatus
from folio_shared.db.models import Job
from folio_shared.jobs.outbox import envelope, to_dramatiq
from folio_shared.messages import Priority, Queue, physical_queue_names
from folio_shared.settings import (
    BrokerSettings,
    DatabaseSettings,
    FolioSettings,
    LogSettings,
    RedisSettings,
    StorageSettings,
)

BENCH_DIR = Path(__file__).resolve().parent
#: Folder of the worker modules (Folio, raw Dramatiq, Celery, RQ).
NOOP_DIR = BENCH_DIR / "noop"
sys.path.insert(0, str(NOOP_DIR))

from messages import NoopV1  # noqa: E402

__all__ = [
    "FOLIO_QUEUES",
    "NAMESPACE",
    "BenchServers",
    "NoopV1",
    "WorkerGroup",
    "folio_worker_argv",
    "insert_queued",
    "job_rows",
    "scratch_database",
    "wait_until",
    "workers",
]

#: Broker namespace of the Folio benchmarks.
NAMESPACE = "bench"
#: Physical queues a Folio bench worker consumes (critical, high, normal, low).
FOLIO_QUEUES = list(physical_queue_names(Queue.DOCUMENTS))


class BenchServers:
    """A private Redis and PostgreSQL with one migrated database.

    - ``root``: folder for the servers' data (default: a fresh temp folder,
      removed by the OS's temp cleaning, not by this class).
    - ``fsync``: PostgreSQL ``fsync`` / ``full_page_writes`` (default off,
      like the test suite: commits survive a server crash, not a power cut).
    """

    def __init__(self, root: Path | None = None, *, fsync: bool = False) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="folio-bench-"))
        self.fsync = fsync
        self.redis, self.postgres = self._servers()
        self.database = "folio_bench"

    def _servers(self) -> tuple[RedisServer, PostgresServer]:
        # Ports picked at random: benchmarks and test runs started at the same
        # moment on a shared machine would all pick the same preferred port.
        redis_port = pick_port(random.randint(20_000, 40_000))
        pg_port = pick_port(random.randint(40_001, 60_000), exclude=frozenset({redis_port}))
        return (
            RedisServer(redis_port, self.root / "redis", appendonly=False),
            PostgresServer(pg_port, self.root / "pg", fsync=self.fsync, max_connections=200),
        )

    def _ours(self) -> bool:
        """True when the servers answering on the ports are the ones started
        here (another run that took a port in the meantime answers too)."""
        with contextlib.closing(redis.Redis.from_url(self.redis.url)) as client:
            redis_dir = client.config_get("dir").get("dir")
        pg_dir = self.postgres.psql("SHOW data_directory")
        return redis_dir == str(self.redis.data_dir) and pg_dir == str(self.postgres.data_dir)

    @property
    def redis_url(self) -> str:
        return self.redis.url

    @property
    def database_url(self) -> str:
        return self.postgres.url(self.database)

    def __enter__(self) -> Self:
        for _ in range(5):
            self.redis.start()
            try:
                self.postgres.start()
            except BaseException:
                self.close()
                raise
            if self._ours():
                break
            self.close()
            self.redis, self.postgres = self._servers()
        else:
            raise RuntimeError("no free ports for the benchmark's Redis and PostgreSQL")
        try:
            self.postgres.create_database(self.database)
            migrate.upgrade(self.database_url)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for server in (self.postgres, self.redis):
            with contextlib.suppress(Exception):
                server.stop()

    def recycle_wal(self, segments: int = 64) -> int:
        """Leave ``segments`` WAL segment files ready for reuse, as a
        PostgreSQL that has been running has them; returns how many there are.

        A freshly initialised cluster has none: every 16 MB segment the
        runs fill is then a new file, created (and zero-filled) by the
        backend that needs it while it holds the WAL write lock, and every
        commit waits meanwhile. Here that was a stall of 40-110 ms every
        ~4.4 s at 1,500 queued documents/s. A running server renames the
        segments a checkpoint no longer needs into future ones instead
        (``min_wal_size`` bounds how many it keeps): this makes that state
        with one small commit and ``pg_switch_wal()`` per segment, then a
        checkpoint and a ``sync``.
        """
        engine = sa.create_engine(
            self.database_url.replace("postgresql://", "postgresql+psycopg2://"),
            isolation_level="AUTOCOMMIT",
        )
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f"ALTER SYSTEM SET min_wal_size = '{segments * 16 + 64}MB'"))
                conn.execute(sa.text("ALTER SYSTEM SET max_wal_size = '4GB'"))
                conn.execute(sa.text("SELECT pg_reload_conf()"))
                for _ in range(segments):
                    # a commit record, so that the switch has something to end
                    conn.execute(sa.text("DO $$ BEGIN PERFORM pg_current_xact_id(); END $$"))
                    conn.execute(sa.text("SELECT pg_switch_wal()"))
                conn.execute(sa.text("CHECKPOINT"))
                count = conn.execute(sa.text("SELECT count(*) FROM pg_ls_waldir()")).scalar_one()
        finally:
            engine.dispose()
        # and on disk, as files made long ago are: not written back by the
        # kernel during the measured runs (PostgreSQL runs with fsync off here)
        os.sync()
        return int(count)

    def wal_position(self) -> int:
        """Bytes of WAL PostgreSQL has written since the cluster began."""
        engine = sa.create_engine(
            self.database_url.replace("postgresql://", "postgresql+psycopg2://")
        )
        try:
            with engine.connect() as conn:
                sql = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')"
                return int(conn.execute(sa.text(sql)).scalar_one())
        finally:
            engine.dispose()

    def flush_redis(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        client.flushall()
        client.close()

    def folio_settings(self) -> FolioSettings:
        """Settings of the benchmark process (the sending side)."""
        return FolioSettings(
            env="test",
            database=DatabaseSettings(url=self.database_url),
            redis=RedisSettings(url=self.redis_url),
            broker=BrokerSettings(namespace=NAMESPACE),
            storage=StorageSettings(local_root=self.root / "store"),
            log=LogSettings(level="WARNING", format="console"),
        )

    def folio_env(self, **extra: str) -> dict[str, str]:
        """Environment of a Folio worker process: production defaults except
        the servers, the namespace and console logs."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
        env.update(
            FOLIO_ENV="test",
            FOLIO_DATABASE_URL=self.database_url,
            FOLIO_REDIS_URL=self.redis_url,
            FOLIO_BROKER_NAMESPACE=NAMESPACE,
            FOLIO_STORAGE_LOCAL_ROOT=str(self.root / "store"),
            FOLIO_LOG_FORMAT="console",
        )
        env.update(extra)
        return env

    def plain_env(self) -> dict[str, str]:
        """Environment of a raw Dramatiq, Celery or RQ worker."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
        env["BENCH_REDIS_URL"] = self.redis_url
        env["PYTHONPATH"] = os.pathsep.join([str(NOOP_DIR), env.get("PYTHONPATH", "")])
        return env


@dataclass
class WorkerGroup:
    """Worker processes, each :meth:`spawn` in its own session (process
    group); ``close`` SIGKILLs every group that is still alive."""

    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, argv: Sequence[str], env: dict[str, str], name: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}-{len(self.procs)}.log").open("ab")
        try:
            proc = subprocess.Popen(
                list(argv),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=str(NOOP_DIR),
            )
        finally:
            log.close()
        self.procs.append(proc)

    def spawn_together(
        self, argvs: Sequence[Sequence[str]], env: dict[str, str], name: str
    ) -> None:
        """Start every command of ``argvs`` in one new session, each with its
        own log, as one CLI's worker processes are (Dramatiq's, Folio's): on
        Linux with ``kernel.sched_autogroup_enabled`` the scheduler shares
        the CPU between sessions first, so processes started each in a
        session of their own get a larger share of a loaded machine than
        the same number forked by one CLI."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        logs = [self.log_dir / f"{name}-{len(self.procs) + i}.log" for i in range(len(argvs))]
        script = " ".join(
            f"{shlex.join(argv)} >>{shlex.quote(str(log))} 2>&1 &"
            for argv, log in zip(argvs, logs, strict=True)
        )
        self.spawn(["sh", "-c", f"{script} wait"], env, f"{name}-session")

    def alive(self) -> bool:
        return any(p.poll() is None for p in self.procs)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        self.procs.clear()


@contextlib.contextmanager
def workers(log_dir: Path) -> Iterator[WorkerGroup]:
    group = WorkerGroup(log_dir)
    try:
        yield group
    finally:
        group.close()


def folio_worker_argv(processes: int, threads: int) -> list[str]:
    """A ``python -c`` command running Folio's supervised worker on the
    bench actor (the same supervisor as ``folio-worker-docs``)."""
    argv = [
        "folio_worker",
        "--path",
        str(NOOP_DIR),
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--worker-shutdown-timeout",
        "5000",
        "--queues",
        *FOLIO_QUEUES,
    ]
    code = f"from folio_shared.worker import supervise; raise SystemExit(supervise({argv!r}))"
    return [sys.executable, "-c", code]


def job_rows(
    count: int, *, sleep_ms: int = 0, priority: Priority = Priority.NORMAL
) -> tuple[list[dict[str, Any]], list[Any]]:
    """``count`` job rows in the state :func:`folio_shared.jobs.dispatch`
    leaves them (``queued``, sent), and their Dramatiq messages."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    messages: list[Any] = []
    for _ in range(count):
        job_id = uuid.uuid4()
        env = envelope(NoopV1(job_id=str(job_id), sleep_ms=sleep_ms), priority=priority)
        message = to_dramatiq(job_id, env)
        messages.append(message)
        rows.append(
            {
                "id": job_id,
                "actor_name": env["actor"],
                "queue_name": env["queue"],
                "priority": priority.value,
                "status": JobStatus.QUEUED,
                "max_retries": 3,
                "message": env,
                "message_id": message.message_id,
                "sent_at": now,
                "queued_at": now,
            }
        )
    return rows, messages


async def insert_queued(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    """Insert job rows in one transaction (``executemany``)."""
    async with engine.begin() as conn:
        for start in range(0, len(rows), 5_000):
            await conn.execute(sa.insert(Job), rows[start : start + 5_000])


@contextlib.asynccontextmanager
async def scratch_database(pg_url: str, prefix: str) -> AsyncIterator[str]:
    """A fresh migrated database on the server of ``pg_url`` (a superuser
    URL), dropped on exit; yields its async URL."""
    admin = create_async_engine(async_database_url(pg_url), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(async_database_url(pg_url)).set(database=name).render_as_string(False)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def wait_until(predicate: Any, timeout_s: float, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return False
