"""Where a one-page PDF's time goes: CPU per document of worker-docs (its
whole process tree), PostgreSQL and Redis; statements and transactions per
document the worker sends to PostgreSQL; Redis commands per document.

The same set-up as ``documents_throughput.py`` (private Redis and
PostgreSQL, one worker-docs process), with PostgreSQL logging every
statement (``log_statement = all``) once the worker is warm. The
submitting side's connections carry the application name
``bench-client``, so its statements are counted apart. Redis's
``INFO commandstats`` is reset before the batch; its commands include the
submitting side's dispatch and polling (listed by name, so they can be
told apart).

    .venv/bin/python bench/documents_cost.py [--one-page 40] [--threads 4]
        [--document-runtime bf16|onnx|torch] [--no-statements] [--keep-log FILE]
        [--py-spy FILE [--gil]]   # also record a py-spy profile of the worker
                                  # (collapsed stacks; --gil: the lock holder only)

It also prints where a document's wall time goes: the time between the
events of each job's stream (``running``, each ``progress`` stage, the
end), as Redis stamped them, median and mean over the batch's jobs.

``--py-spy`` needs ``py-spy`` in the venv or on ``PATH``. To measure an older
commit the same way, run this file with that commit's sources first on
``PYTHONPATH`` (a ``git worktree``, as ``_baseline.py`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parent))
from _cpu_meter import cpu_by_role, proc_stats, stat_cpu_s
from _servers import BenchServers
from documents_throughput import (
    Client,
    batch,
    close_client,
    docs_worker,
    make_pdf,
    submit,
    wait_final,
)

from folio_shared.broker import create_broker
from folio_shared.db.repositories.tenants import create_tenant
from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings
from folio_shared.storage import LocalStorage

CLIENT_APP = "bench-client"


def tree_cpu_s(root_pid: int) -> float:
    """CPU seconds of ``root_pid`` and every live descendant, with their
    exited children's."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for pid, fields in proc_stats():
        parents[pid] = int(fields[1])
        cpu[pid] = stat_cpu_s(fields)
    total = 0.0
    for pid in cpu:
        p = pid
        while p and p != root_pid:
            p = parents.get(p, 0)
        if p == root_pid:
            total += cpu[pid]
    return total


def psql(servers: BenchServers, sql: str) -> None:
    servers.postgres.psql(sql)


def log_statements(servers: BenchServers, on: bool) -> None:
    psql(servers, f"ALTER SYSTEM SET log_statement = '{'all' if on else 'none'}'")
    psql(servers, "ALTER SYSTEM SET log_line_prefix = '%a|%p|'")
    psql(servers, "SELECT pg_reload_conf()")
    time.sleep(0.5)


_LINE = re.compile(r"^([^|]*)\|(\d+)\|LOG:\s+(statement|execute [^:]*):\s*(.*)$")


def statements(log_text: str) -> tuple[collections.Counter[str], collections.Counter[str], int]:
    """(worker statements by first words, client statements by first words,
    worker transactions: ``BEGIN`` statements) in ``log_text``."""
    worker: collections.Counter[str] = collections.Counter()
    client: collections.Counter[str] = collections.Counter()
    for line in log_text.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        sql = " ".join(m.group(4).split())
        key = _shape(sql)
        (client if m.group(1) == CLIENT_APP else worker)[key] += 1
    begins = sum(n for k, n in worker.items() if k.upper().startswith("BEGIN"))
    return worker, client, begins


def _shape(sql: str) -> str:
    words = sql.split()
    head = " ".join(words[:4])
    for marker in (" FROM ", " INTO ", "UPDATE "):
        i = sql.upper().find(marker)
        if i >= 0:
            tail = sql[i + len(marker) :].split()
            return f"{head} … {marker.strip()} {tail[0] if tail else ''}"[:90]
    return head[:90]


def event_streams(rds: redis.Redis) -> set[bytes]:
    """The job event streams in Redis now."""
    return set(rds.scan_iter("folio:job:*:events", count=1000))


def stage_times(rds: redis.Redis, keys: set[bytes]) -> dict[str, list[int]]:
    """Milliseconds between consecutive events of each stream of ``keys``
    (by ``from -> to``, the state or progress stage each event names) and
    each stream's first to last event (``whole job``)."""
    steps: dict[str, list[int]] = collections.defaultdict(list)
    for key in keys:
        events: list[tuple[bytes, dict[bytes, bytes]]] = rds.xrange(key)  # type: ignore[assignment]
        stamps = [int(event_id.split(b"-")[0]) for event_id, _ in events]
        names = []
        for _, fields in events:
            data = json.loads(fields[b"data"])
            names.append(str(data.get("status") or data.get("stage") or "?"))
        for i in range(1, len(events)):
            steps[f"{names[i - 1]} -> {names[i]}"].append(stamps[i] - stamps[i - 1])
        if stamps:
            steps["whole job"].append(stamps[-1] - stamps[0])
    return steps


def print_stages(steps: dict[str, list[int]]) -> None:
    print("\n| step (job events) | jobs | median ms | mean ms |\n|---|---:|---:|---:|")
    for name, times in sorted(steps.items(), key=lambda kv: -statistics.mean(kv[1])):
        print(f"| {name} | {len(times)} | {statistics.median(times):.0f} | "
              f"{statistics.mean(times):.0f} |")  # fmt: skip


def start_py_spy(pid: int, out: str, *, gil: bool = False) -> subprocess.Popen[bytes]:
    """py-spy recording ``pid`` and its children (collapsed stacks to ``out``);
    with ``gil``, only the thread holding the interpreter lock."""
    spy = str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        spy = shutil.which("py-spy") or spy
    argv = [spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw"]
    argv += ["--rate", "50", "--output", out, "--nonblocking"] + (["--gil"] if gil else [])
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read_log(path: Path, offset: int, keep: str | None) -> str:
    """PostgreSQL's log from ``offset`` on (also written to ``keep``)."""
    with open(path, errors="replace") as f:
        f.seek(offset)
        text = f.read()
    if keep:
        Path(keep).write_text(text)
    return text


async def open_client(settings: FolioSettings, tenant_name: str) -> Client:
    engine = create_async_engine(
        settings.database.url, connect_args={"server_settings": {"application_name": CLIENT_APP}}
    )
    storage = LocalStorage.from_settings(settings)
    await storage.open()
    jobs = Jobs(engine, create_broker(settings), aioredis.Redis.from_url(settings.redis.url))
    async with jobs.sessions() as session:
        tenant, key = await create_tenant(session, tenant_name)
        await session.commit()
    return Client(jobs, engine, storage, tenant.id, key)


async def run(args: argparse.Namespace, servers: BenchServers) -> None:
    settings = servers.folio_settings()
    run_id = uuid.uuid4().hex[:8]
    warm = [make_pdf(1, f"{run_id}-warm-{i}") for i in range(3)]
    pdfs = [make_pdf(1, f"{run_id}-one-{i}") for i in range(args.one_page)]
    client = await open_client(settings, f"bench-{run_id}")
    threads = args.threads or settings.worker.threads
    worker = docs_worker(settings, servers.root, threads, args.document_runtime)
    rds = redis.Redis.from_url(servers.redis_url)
    spy: subprocess.Popen[bytes] | None = None
    try:
        ids = [await submit(client, data) for data in warm]
        await wait_final(client.engine, ids, worker, args.timeout_s)
        log_path = servers.postgres.log_path
        assert log_path is not None
        if not args.no_statements:
            log_statements(servers, True)
        offset = log_path.stat().st_size
        warm_streams = event_streams(rds)
        rds.config_resetstat()
        if args.py_spy:
            spy = start_py_spy(worker.proc.pid, args.py_spy, gil=args.gil)
            await asyncio.sleep(1.0)
        before = cpu_by_role(-1, servers.root, servers.redis.port)
        before_worker = tree_cpu_s(worker.proc.pid)
        row = await batch(client, "1-page PDF", pdfs, worker, args.timeout_s)
        after_worker = tree_cpu_s(worker.proc.pid)
        after = cpu_by_role(-1, servers.root, servers.redis.port)
        stats = rds.info("commandstats")
        steps = stage_times(rds, event_streams(rds) - warm_streams)
        if not args.no_statements:
            log_statements(servers, False)
        text = read_log(log_path, offset, args.keep_log)
    finally:
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        worker.close()
        await close_client(client)
        rds.close()

    n = row.documents
    print(f"\n{n} one-page PDFs in {row.seconds:.2f} s: {n / row.seconds:.2f} PDFs/s, "
          f"{row.chunks} chunks; worker {threads} threads, {args.document_runtime}")  # fmt: skip
    print("\n| part | CPU s | CPU ms per PDF |\n|---|---:|---:|")
    worker_s = after_worker - before_worker
    print(f"| worker-docs (tree) | {worker_s:.2f} | {worker_s * 1000 / n:.1f} |")
    for part in ("postgres", "redis"):
        used = after[part] - before[part]
        print(f"| {part} | {used:.2f} | {used * 1000 / n:.1f} |")
    if not args.no_statements:
        worker_sql, client_sql, begins = statements(text)
        total = sum(worker_sql.values())
        print(f"\nworker statements: {total} ({total / n:.1f} per PDF), "
              f"transactions (BEGIN): {begins} ({begins / n:.1f} per PDF); "
              f"client statements {sum(client_sql.values()) / n:.1f} per PDF")  # fmt: skip
        for shape, count in worker_sql.most_common(40):
            print(f"  {count / n:6.2f}  {shape}")
    print_stages(steps)
    print("\nRedis commands (all clients) per PDF:")
    for name, stat in sorted(stats.items(), key=lambda kv: -int(kv[1]["calls"])):
        print(f"  {int(stat['calls']) / n:6.2f}  {name.removeprefix('cmdstat_')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one-page", type=int, default=40)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--timeout-s", type=float, default=600)
    parser.add_argument("--py-spy", default=None, help="write py-spy's collapsed stacks here")
    parser.add_argument(
        "--gil", action="store_true", help="py-spy samples only the thread holding the GIL"
    )
    parser.add_argument(
        "--document-runtime", choices=("auto", "bf16", "onnx", "int8", "torch"), default="auto"
    )
    parser.add_argument("--keep-log", default=None, help="copy the batch's statement log here")
    parser.add_argument(
        "--no-statements", action="store_true", help="do not log statements (CPU figures only)"
    )
    args = parser.parse_args()
    with BenchServers() as servers:
        asyncio.run(run(args, servers))


if __name__ == "__main__":
    main()
