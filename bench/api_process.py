"""Benchmark: ``POST /v1/documents/{id}/process`` and small-file uploads.

Starts a private Redis and PostgreSQL (see :mod:`_servers`), creates a
tenant and ``--documents`` stored documents (rows only, status
``uploaded``), leaves WAL segments ready for reuse as a server that has
been running has them (``--fresh-wal``: not), serves the API as
``folio-api`` does (uvicorn, Folio's HTTP protocol, uvloop; ``--workers``
processes, loopback) and loads it:

0. ``GET /healthz`` (no I/O at all) with ``wrk``: the baseline, what the
   framework and the server stack answer on this machine; every row gives
   its ratio.
1. ``process`` with ``wrk`` (closed loop: every connection always busy, so
   the latencies are queueing time, ``connections / throughput`` by
   Little's law): the most it serves. Every request queues a *different*
   document (job row and events, document row, a message to Redis), so
   nothing is served from an "already active" shortcut.
2. ``process`` in open loop (:mod:`_openloop`) at each ``--rates`` rate
   (default 500/s and 1,500/s) over the same connections: latency at a
   fixed load, from each request's scheduled time, on documents not queued
   before. This is where the target is (p99 ≤ 10 ms at 1,500/s).
3. ``upload``: multipart uploads of small text files, each with distinct
   bytes (a real store, not a duplicate answer), processing queued.
4. A second baseline: the same ``process`` work behind a bare ASGI app
   (:mod:`_bare_api`: no framework, no authentication, no metrics) at the
   highest open-loop rate, to show what the framework adds.

Prints requests/s and p50/p99 latency for each, and the CPU each part used
per request (API processes, PostgreSQL, Redis, the load generator), as
Markdown tables. Run: ``.venv/bin/python bench/api_process.py [--duration-s 15]``.
Needs ``wrk`` (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from folio_shared.db.engine import async_database_url

sys.path.insert(0, str(Path(__file__).parent))
import _openloop
from _servers import BenchServers

from folio_devstack.ports import pick_port
from folio_shared.db.engine import create_session_factory
from folio_shared.db.repositories.tenants import create_tenant

PROCESS_ROUTE = "POST /v1/documents/{id}/process"
#: The body of every ``process`` request: what ``folio-client`` sends by default.
PROCESS_BODY = b'{"priority": "normal"}'
#: Documents queued by the closed-loop warm-up (3 s), not by the measured run.
WARM_UP_DOCUMENTS = 10_000
#: the bare app's warm-up (2 s in open loop); without one its first requests
#: wait for its connection pools to fill (stalls of ~100 requests at the start)
BARE_WARM_UP_DOCUMENTS = 2_000

PROCESS_LUA = """
local ids = {}
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  for line in io.lines("%(ids)s") do table.insert(ids, line) end
  counter = tid
end
function request()
  counter = counter + %(threads)d
  local id = ids[(counter %% #ids) + 1]
  return wrk.format("POST", "/v1/documents/" .. id .. "/process", {
    ["Authorization"] = "Bearer %(key)s", ["Content-Type"] = "application/json"},
    '%(body)s')
end
"""

UPLOAD_LUA = """
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args) counter = tid * 100000000 end
function request()
  counter = counter + 1
  local body = "--BENCH\\r\\nContent-Disposition: form-data; name=\\"file\\"; " ..
    "filename=\\"note.txt\\"\\r\\nContent-Type: text/plain\\r\\n\\r\\n" ..
    "small bench note %(run)s " .. counter .. "\\n" .. string.rep("lorem ipsum ", 80) ..
    "\\r\\n--BENCH--\\r\\n"
  return wrk.format("POST", "/v1/documents", {
    ["Authorization"] = "Bearer %(key)s",
    ["Content-Type"] = "multipart/form-data; boundary=BENCH"}, body)
end
"""


async def seed(database_url: str, documents: int) -> tuple[str, uuid.UUID, list[str]]:
    engine = create_async_engine(async_database_url(database_url))
    try:
        async with create_session_factory(engine)() as session:
            tenant, key = await create_tenant(session, f"bench-{uuid.uuid4().hex[:6]}")
            await session.commit()
        async with engine.begin() as conn:
            rows = await conn.execute(
                sa.text(
                    "INSERT INTO documents (tenant_id, filename, kind, content_type, size_bytes,"
                    " sha256, storage_key, status)"
                    " SELECT :t, 'doc' || g || '.pdf', 'pdf', 'application/pdf', 1000,"
                    " md5(g::text) || md5((g + 1)::text), 'bench/' || g, 'uploaded'"
                    " FROM generate_series(1, :n) AS g RETURNING id"
                ),
                {"t": tenant.id, "n": documents},
            )
            ids = [str(r[0]) for r in rows]
            # As a database that has been running: some history of finished
            # jobs (a third of the documents processed once before) ...
            await conn.execute(
                sa.text(
                    "INSERT INTO jobs (tenant_id, document_id, actor_name, queue_name, status,"
                    " attempts, progress, message, finished_at)"
                    " SELECT :t, id, 'docs.process', 'documents', 'succeeded', 1, 100, '{}', now()"
                    " FROM documents WHERE tenant_id = :t LIMIT :n"
                ),
                {"t": tenant.id, "n": documents // 3},
            )
        # ... and the bulk inserts vacuumed and analysed now, not by
        # autovacuum in the middle of the measured runs.
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text("VACUUM (ANALYZE) documents, jobs"))
    finally:
        await engine.dispose()
    return key, tenant.id, ids


#: WAL segment files made ready for reuse before the runs (see
#: ``BenchServers.recycle_wal``): more than the runs fill (~2.5 KB of WAL per
#: queued document; the bench prints what they wrote).
WAL_SEGMENTS = 64


def parse_wrk(output: str) -> dict[str, float]:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def _proc_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid``, with those of its children that have exited
    (``cutime``/``cstime``): PostgreSQL's autovacuum workers and the
    backends of closed connections exit during a run, and their time would
    otherwise drop out of the sum (a part's CPU could go negative)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_by_role(api_pid: int, servers_dir: Path, redis_port: int) -> dict[str, float]:
    """CPU seconds used so far by the API (uvicorn and its workers), by
    PostgreSQL (the server started in ``servers_dir`` and its backends) and
    by Redis (the ``redis-server`` on ``redis_port``: not the machine's own,
    nor one that another program starts and stops during a run, whose
    exit would take its time out of the sum)."""
    procs: dict[int, tuple[int, str, str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            procs[pid] = (ppid, comm, cmd, _proc_cpu_s(pid))
        except (OSError, ValueError, IndexError):
            continue
    postmasters = {
        pid
        for pid, (_, comm, cmd, _) in procs.items()
        if comm == "postgres" and str(servers_dir) in cmd
    }
    out = {"api": 0.0, "postgres": 0.0, "redis": 0.0}
    for pid, (ppid, comm, cmd, cpu) in procs.items():
        if api_pid in (pid, ppid):
            out["api"] += cpu
        elif pid in postmasters or ppid in postmasters:
            out["postgres"] += cpu
        elif comm == "redis-server" and cmd.rstrip().endswith(f":{redis_port}"):
            out["redis"] += cpu
    return out


def _stolen_s() -> float:
    """CPU seconds the hypervisor has taken from this machine so far (all
    CPUs; ``steal`` in ``/proc/stat``): time the parts wanted and did not get."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def run_wrk(base_url: str, script: Path, connections: int, threads: int, duration_s: int) -> str:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
    ]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def serve(argv: list[str], env: dict[str, str], port: int, workers: int, log: Path) -> Any:
    """Start uvicorn serving ``argv`` (an app) as ``folio-api`` serves the
    API; returns once ``/healthz`` answers."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            *argv,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
            "--http",
            "folio_api.http:HttpToolsProtocol",
            "--loop",
            "uvloop",
        ],
        env=env,
        cwd=str(Path(__file__).parent),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            sys.exit(f"the server did not start; see {log}")
        time.sleep(0.2)


def stop(proc: Any) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


@dataclass
class Meter:
    """CPU seconds used, by part, between :meth:`start` and :meth:`stop`,
    and the wall-clock seconds between them (``"elapsed"``: a run that falls
    behind lasts longer than its nominal duration while it drains)."""

    api_pid: int
    servers_dir: Path
    redis_port: int
    parts: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        used = cpu_by_role(self.api_pid, self.servers_dir, self.redis_port)
        used["stolen"] = _stolen_s()
        used["elapsed"] = time.perf_counter()
        me, children = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        # the load generator: wrk (a child once it exits) or the open loop (this process)
        used["load generator"] = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
        return used

    def start(self) -> None:
        self.parts = self._now()

    def stop(self) -> dict[str, float]:
        after = self._now()
        return {part: after[part] - self.parts[part] for part in after}


class WalSwitches:
    """Times (``time.perf_counter()``) at which PostgreSQL's WAL insert
    position entered a new segment, sampled every 10 ms in a thread between
    :meth:`start` and :meth:`stop` (with ``--stalls``: to set the stalls of
    a run beside the WAL segments)."""

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(
            database_url.replace("postgresql://", "postgresql+psycopg2://"),
            isolation_level="AUTOCOMMIT",
        )
        self.times: list[float] = []
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        sql = sa.text(
            "SELECT (pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')"
            " / pg_size_bytes(current_setting('wal_segment_size')))::bigint"
        )
        with self.engine.connect() as conn:
            segment = conn.execute(sql).scalar_one()
            while not self._done.wait(0.01):
                now, current = time.perf_counter(), conn.execute(sql).scalar_one()
                if current != segment:
                    self.times.append(now)
                    segment = current

    def start(self) -> None:
        self.times, self._done = [], threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> list[float]:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        return self.times

    def close(self) -> None:
        self.engine.dispose()


class _NoWal(WalSwitches):
    """Without ``--stalls``: samples nothing."""

    def __init__(self) -> None:
        self.times = []

    def start(self) -> None:
        pass

    def stop(self) -> list[float]:
        return []

    def close(self) -> None:
        pass


def describe_stalls(result: _openloop.Result, switches: list[float]) -> str:
    """The run's stalls, each with the WAL segment switches near it."""
    at = [t - result.started_at for t in switches]
    lines = []
    for stall in result.stalls():
        near = [f"{t:.2f}" for t in at if stall.start_s - 0.15 <= t <= stall.end_s + 0.05]
        wal = f"; WAL segment switch at {', '.join(near)} s" if near else ""
        lines.append(
            f"  {stall.start_s:5.2f}-{stall.end_s:5.2f} s: {stall.requests:4d} requests"
            f" over 10 ms, up to {stall.max_ms:.0f} ms{wal}"
        )
    lines.append("  WAL segment switches at: " + (", ".join(f"{t:.2f}" for t in at) or "none"))
    return "\n".join(lines)


def open_loop(
    base_url: str, key: str, ids: list[str], rate: float, connections: int, duration_s: int
) -> tuple[dict[str, float], _openloop.Result]:
    r = _openloop.run_sync(
        base_url,
        rate=rate,
        connections=connections,
        duration_s=duration_s,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        path_of=lambda i: f"/v1/documents/{ids[i]}/process",
        body=PROCESS_BODY,
    )
    return {
        "rps": r.rate,
        "p50_ms": r.percentile(50),
        "p99_ms": r.percentile(99),
        "non_2xx": float(sum(n for s, n in r.statuses.items() if s >= 300) + r.errors),
    }, r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration-s", type=int, default=15)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--documents", type=int, default=200_000)
    parser.add_argument(
        "--fresh-wal",
        action="store_true",
        help="measure with no WAL segments ready for reuse, as a freshly initialised cluster",
    )
    parser.add_argument(
        "--stalls",
        action="store_true",
        help="list each open-loop run's stalls (5+ requests over 10 ms within 100 ms)"
        " beside PostgreSQL's WAL segment switches",
    )
    parser.add_argument(
        "--rates",
        type=float,
        nargs="*",
        default=[500.0, 1500.0],
        help="open-loop rates (requests/s) at which to measure process latency",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="folio-bench-api-"))
    rows: list[tuple[str, str, str, dict[str, float]]] = []
    cpu: list[tuple[str, float, dict[str, float]]] = []  # run, requests, CPU s by part
    with BenchServers(work / "servers") as servers:
        key, tenant_id, ids = asyncio.run(seed(servers.database_url, args.documents))
        ready = 0 if args.fresh_wal else servers.recycle_wal(WAL_SEGMENTS)
        wal_at_start = servers.wal_position()
        # --stalls: the WAL sampler runs during the open-loop runs only
        wal = WalSwitches(servers.database_url) if args.stalls else _NoWal()
        stalls: list[tuple[str, _openloop.Result, list[float]]] = []
        fresh = iter(ids)

        def take(n: int) -> list[str]:
            """``n`` documents no run has queued yet."""
            return [next(fresh) for _ in range(n)]

        port = pick_port(18600)
        base_url = f"http://127.0.0.1:{port}"
        env = servers.folio_env(
            FOLIO_API_RATE_LIMIT_PER_MINUTE="1000000000",
            FOLIO_DATABASE_POOL_SIZE="20",
            FOLIO_LOG_LEVEL="WARNING",
        )
        api = serve(
            ["--factory", "folio_api.app:create_app"], env, port, args.workers, work / "api.log"
        )
        meter = Meter(api.pid, work / "servers", servers.redis.port)
        try:
            health_lua = work / "health.lua"
            health_lua.write_text('wrk.method = "GET"\n')
            url = f"{base_url}/healthz"
            run_wrk(url, health_lua, args.connections, args.wrk_threads, 2)
            out = run_wrk(url, health_lua, args.connections, args.wrk_threads, args.duration_s)
            rows.append(
                ("GET /healthz (baseline: no I/O)", "API", "wrk, closed loop", parse_wrk(out))
            )
            # The warm-up and every measured run queue documents of their own:
            # a document queued before only answers its active job (cheaper).
            (work / "warm-ids.txt").write_text("\n".join(take(WARM_UP_DOCUMENTS)) + "\n")
            # the closed loop takes what the open-loop runs (and the bare app's) leave
            later = int(sum(args.rates) * args.duration_s + max(args.rates) * args.duration_s)
            later += BARE_WARM_UP_DOCUMENTS
            if len(ids) - WARM_UP_DOCUMENTS - later < 1_000:
                sys.exit(f"--documents {len(ids)} is too few for these rates and duration")
            closed_ids = take(len(ids) - WARM_UP_DOCUMENTS - later)
            (work / "run-ids.txt").write_text("\n".join(closed_ids) + "\n")
            warm_lua, process_lua = work / "warm.lua", work / "process.lua"
            for script, file in ((warm_lua, "warm-ids.txt"), (process_lua, "run-ids.txt")):
                script.write_text(
                    PROCESS_LUA
                    % {
                        "ids": work / file,
                        "threads": args.wrk_threads,
                        "key": key,
                        "body": PROCESS_BODY.decode(),
                    }
                )
            run_wrk(base_url, warm_lua, args.connections, args.wrk_threads, 3)  # warm-up
            meter.start()
            closed = parse_wrk(
                run_wrk(base_url, process_lua, args.connections, args.wrk_threads, args.duration_s)
            )
            requests = closed["rps"] * args.duration_s
            cpu.append(("process, wrk closed loop", requests, meter.stop()))
            rows.append((PROCESS_ROUTE, "API", "wrk, closed loop", closed))
            if requests > len(closed_ids):
                print(f"warning: {requests:.0f} requests over {len(closed_ids)} documents: "
                      "some answered an active job; raise --documents")  # fmt: skip
            for rate in args.rates:
                batch = take(int(rate * args.duration_s))
                meter.start()
                wal.start()
                r, result = open_loop(base_url, key, batch, rate, args.connections, args.duration_s)
                stalls.append((f"process, open loop {rate:.0f}/s", result, wal.stop()))
                cpu.append((f"process, open loop {rate:.0f}/s", len(batch), meter.stop()))
                rows.append((PROCESS_ROUTE, "API", f"open loop, {rate:.0f}/s offered", r))
            upload_lua = work / "upload.lua"
            upload_lua.write_text(UPLOAD_LUA % {"key": key, "run": uuid.uuid4().hex})
            meter.start()
            uploads = parse_wrk(
                run_wrk(base_url, upload_lua, args.connections, args.wrk_threads, args.duration_s)
            )
            cpu.append(("upload, wrk closed loop", uploads["rps"] * args.duration_s, meter.stop()))
            rows.append(
                ("POST /v1/documents (1 KB text upload)", "API", "wrk, closed loop", uploads)
            )
        finally:
            stop(api)
        # Baseline 2: the same work without the framework, at the top rate.
        bare = serve(
            ["_bare_api:app"],
            {**env, "FOLIO_BENCH_TENANT_ID": str(tenant_id)},
            port,
            args.workers,
            work / "bare.log",
        )
        meter = Meter(bare.pid, work / "servers", servers.redis.port)
        try:
            rate = max(args.rates)
            # warmed up as the API was: its pools fill, its code paths run once
            warm = take(BARE_WARM_UP_DOCUMENTS)
            open_loop(base_url, key, warm, BARE_WARM_UP_DOCUMENTS / 2, args.connections, 2)
            batch = take(int(rate * args.duration_s))
            meter.start()
            wal.start()
            r, result = open_loop(base_url, key, batch, rate, args.connections, args.duration_s)
            stalls.append((f"bare app, open loop {rate:.0f}/s", result, wal.stop()))
            cpu.append((f"bare app, open loop {rate:.0f}/s", len(batch), meter.stop()))
            rows.append(
                (PROCESS_ROUTE, "bare ASGI app (baseline)", f"open loop, {rate:.0f}/s offered", r)
            )
        finally:
            stop(bare)
        wal_mb = (servers.wal_position() - wal_at_start) / 2**20
    wal_ready = f"{ready} segments ({ready * 16} MB) were" if ready else "none was"
    print(
        f"\nPostgreSQL wrote {wal_mb:.0f} MB of WAL during the runs; of the"
        f" 16 MB WAL segment files, {wal_ready} ready for reuse at the start"
    )
    if ready and wal_mb > ready * 16:
        print("warning: the runs created new WAL segments (see WAL_SEGMENTS)")
    if args.stalls:
        wal.close()
        for run, result, switches in stalls:
            print(f"\nStalls of {run} (by scheduled time, s from its start):")
            print(describe_stalls(result, switches))
    print(
        f"\n{args.connections} connections, {args.workers} uvicorn workers, "
        f"{args.duration_s} s per run, {os.cpu_count()} CPUs (API, PostgreSQL, Redis and the "
        "load generator share them)\n"
    )
    print("| route | server | load | requests/s | vs baseline | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    base_rps = rows[0][3]["rps"]
    for route, server, mode, r in rows:
        print(
            f"| `{route}` | {server} | {mode} | {r['rps']:.0f} | {r['rps'] / base_rps:.2f}x "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['non_2xx']:.0f} |"
        )
    print(
        "\nCPU per request, in ms, by part (and the cores all parts used, and"
        " those the hypervisor took from the machine meanwhile):\n"
    )
    parts = ["api", "postgres", "redis", "load generator"]
    print("| run | " + " | ".join(parts) + " | all parts | cores used | cores stolen |")
    print("|---|" + "---:|" * (len(parts) + 3))
    for run, requests, used in cpu:
        per = [1000 * used[p] / requests for p in parts]
        cores = sum(used[p] for p in parts) / used["elapsed"]
        stolen = used["stolen"] / used["elapsed"]
        cells = " | ".join(f"{v:.3f}" for v in per)
        print(f"| {run} | {cells} | {sum(per):.3f} | {cores:.2f} | {stolen:.2f} |")


if __name__ == "__main__":
    main()
