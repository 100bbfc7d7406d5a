"""Benchmark: ``POST /v1/documents/{id}/process`` and small-file uploads.

Starts a private Redis and PostgreSQL (see :mod:`_servers`), creates a
tenant and ``--documents`` stored documents (rows only, status
``uploaded``), serves the API with uvicorn (``--workers`` processes,
loopback), and drives it with ``wrk`` at ``--connections`` concurrent
connections:

0. ``GET /healthz`` (no I/O at all): the baseline, what the framework and
   the server stack answer on this machine; every row gives its ratio.
1. ``process`` with wrk (closed loop: every connection always busy, so the
   latencies are queueing time, ``connections / throughput`` by Little's
   law): the most it serves. Every request queues a *different* document
   (job row and events, document row, a message to Redis), so nothing is
   served from an "already active" shortcut.
2. ``process`` in open loop (:mod:`_openloop`) at each ``--rates`` rate
   (default 500/s and 1,500/s) over the same connections: latency at a fixed load,
   from each request's scheduled time, on documents not queued before.
3. ``upload``: multipart uploads of small text files, each with distinct
   bytes (a real store, not a duplicate answer), processing queued.

Prints requests/s and p50/p99 latency for each, as a Markdown table.
Run: ``.venv/bin/python bench/api_process.py [--duration-s 15]``.
Needs ``wrk`` (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

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
#: Documents queued by the closed-loop warm-up (3 s), not by the measured run.
WARM_UP_DOCUMENTS = 10_000

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
    ["Authorization"] = "Bearer %(key)s"}, nil)
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


async def seed(database_url: str, documents: int) -> tuple[str, list[str]]:
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
    finally:
        await engine.dispose()
    return key, ids


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
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_role(api_pid: int, servers_dir: Path) -> dict[str, float]:
    """CPU seconds used so far by the API (uvicorn and its workers), by
    PostgreSQL (the server started in ``servers_dir`` and its backends) and
    by Redis (``redis-server`` processes)."""
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
    for pid, (ppid, comm, _cmd, cpu) in procs.items():
        if api_pid in (pid, ppid):
            out["api"] += cpu
        elif pid in postmasters or ppid in postmasters:
            out["postgres"] += cpu
        elif comm == "redis-server":
            out["redis"] += cpu
    return out


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration-s", type=int, default=15)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--documents", type=int, default=120_000)
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
    with BenchServers(work / "servers") as servers:
        key, ids = asyncio.run(seed(servers.database_url, args.documents))
        port = pick_port(18600)
        base_url = f"http://127.0.0.1:{port}"
        env = servers.folio_env(
            FOLIO_API_RATE_LIMIT_PER_MINUTE="1000000000",
            FOLIO_DATABASE_POOL_SIZE="20",
            FOLIO_LOG_LEVEL="WARNING",
        )
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "folio_api.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
                "--no-access-log",
                "--http",
                "httptools",
                "--loop",
                "uvloop",
            ],
            env=env,
            stdout=(work / "api.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or api.poll() is not None:
                    sys.exit(f"the API did not start; see {work / 'api.log'}")
                time.sleep(0.2)
            rows: list[tuple[str, str, dict[str, float]]] = []
            health_lua = work / "health.lua"
            health_lua.write_text('wrk.method = "GET"\n')
            run_wrk(f"{base_url}/healthz", health_lua, args.connections, args.wrk_threads, 2)
            baseline = parse_wrk(
                run_wrk(
                    f"{base_url}/healthz",
                    health_lua,
                    args.connections,
                    args.wrk_threads,
                    args.duration_s,
                )
            )
            rows.append(("GET /healthz (baseline: no I/O)", "wrk, closed loop", baseline))
            # The warm-up and the measured run queue documents of their own:
            # a document queued before only answers its active job (cheaper).
            warm_ids, run_ids = ids[:WARM_UP_DOCUMENTS], ids[WARM_UP_DOCUMENTS:]
            (work / "warm-ids.txt").write_text("\n".join(warm_ids) + "\n")
            (work / "run-ids.txt").write_text("\n".join(run_ids) + "\n")
            warm_lua, process_lua = work / "warm.lua", work / "process.lua"
            for script, file in ((warm_lua, "warm-ids.txt"), (process_lua, "run-ids.txt")):
                script.write_text(
                    PROCESS_LUA % {"ids": work / file, "threads": args.wrk_threads, "key": key}
                )
            run_wrk(base_url, warm_lua, args.connections, args.wrk_threads, 3)  # warm-up
            cpu_before = cpu_by_role(api.pid, work / "servers")
            process_run = parse_wrk(
                run_wrk(base_url, process_lua, args.connections, args.wrk_threads, args.duration_s)
            )
            cpu_after = cpu_by_role(api.pid, work / "servers")
            rows.append((PROCESS_ROUTE, "wrk, closed loop", process_run))
            requests = process_run["rps"] * args.duration_s
            if requests > len(run_ids):
                print(f"warning: {requests:.0f} requests over {len(run_ids)} documents: "
                      "some answered an active job; raise --documents")  # fmt: skip
            cpu_ms = {
                role: (cpu_after[role] - cpu_before[role]) * 1000 / requests for role in cpu_after
            }
            # Documents not yet queued by the closed-loop runs (each request
            # must queue a fresh document, never answer an active job).
            used = min(len(run_ids), int(requests * 1.1) + 1000)
            fresh = run_ids[used:]
            for rate in args.rates:
                need = int(rate * args.duration_s)
                if need > len(fresh):
                    print(f"skipping {rate}/s: {len(fresh)} fresh documents left, need {need}")
                    continue
                batch, fresh = fresh[:need], fresh[need:]
                r = _openloop.run_sync(
                    base_url,
                    rate=rate,
                    connections=args.connections,
                    duration_s=args.duration_s,
                    method="POST",
                    headers={"Authorization": f"Bearer {key}"},
                    path_of=lambda i, b=batch: f"/v1/documents/{b[i]}/process",  # type: ignore[misc]
                )
                rows.append(
                    (
                        PROCESS_ROUTE,
                        f"open loop, {rate:.0f}/s offered",
                        {
                            "rps": r.rate,
                            "p50_ms": r.percentile(50),
                            "p99_ms": r.percentile(99),
                            "non_2xx": float(
                                sum(n for s, n in r.statuses.items() if s >= 300) + r.errors
                            ),
                        },
                    )
                )
            upload_lua = work / "upload.lua"
            upload_lua.write_text(UPLOAD_LUA % {"key": key, "run": uuid.uuid4().hex})
            rows.append(
                (
                    "POST /v1/documents (1 KB text upload)",
                    "wrk, closed loop",
                    parse_wrk(
                        run_wrk(
                            base_url,
                            upload_lua,
                            args.connections,
                            args.wrk_threads,
                            args.duration_s,
                        )
                    ),
                )
            )
        finally:
            api.terminate()
            api.wait(timeout=30)
    print(
        f"\n{args.connections} connections, {args.workers} uvicorn workers, "
        f"{args.duration_s} s per run, {os.cpu_count()} CPUs (API, PostgreSQL, Redis and the "
        "load generator share them)\n"
    )
    print("CPU time per `process` request (closed-loop run):\n")
    print("| part | CPU ms per request | requests/s one core of it would serve |")
    print("|---|---:|---:|")
    for role, ms in cpu_ms.items():
        print(f"| {role} | {ms:.3f} | {1000 / ms:.0f} |" if ms else f"| {role} | 0 | - |")
    print()
    print("| route | load | requests/s | vs baseline | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---:|---:|---:|---:|---:|")
    base_rps = rows[0][2]["rps"]
    for route, mode, r in rows:
        print(
            f"| `{route}` | {mode} | {r['rps']:.0f} | {r['rps'] / base_rps:.2f}x "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['non_2xx']:.0f} |"
        )


if __name__ == "__main__":
    main()
