"""Benchmark: ``POST /v1/documents/{id}/process`` and small-file uploads.

Starts a private Redis and PostgreSQL (see :mod:`_servers`), creates a
tenant and ``--documents`` stored documents (rows only, status
``uploaded``), serves the API with uvicorn (``--workers`` processes,
loopback), and drives it with ``wrk`` at ``--connections`` concurrent
connections:

1. ``process``: every request queues a *different* document (document and
   job rows, outbox, a message to Redis), so nothing is served from an
   "already active" shortcut.
2. ``upload``: multipart uploads of small text files, each with distinct
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
from _servers import BenchServers

from folio_devstack.ports import pick_port
from folio_shared.db.engine import create_session_factory
from folio_shared.db.repositories.tenants import create_tenant

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
    parser.add_argument("--documents", type=int, default=80_000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="folio-bench-api-"))
    with BenchServers(work / "servers") as servers:
        key, ids = asyncio.run(seed(servers.database_url, args.documents))
        (work / "ids.txt").write_text("\n".join(ids) + "\n")
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
            results = {}
            process_lua = work / "process.lua"
            process_lua.write_text(
                PROCESS_LUA % {"ids": work / "ids.txt", "threads": args.wrk_threads, "key": key}
            )
            run_wrk(base_url, process_lua, args.connections, args.wrk_threads, 3)  # warm-up
            results["POST /v1/documents/{id}/process"] = parse_wrk(
                run_wrk(base_url, process_lua, args.connections, args.wrk_threads, args.duration_s)
            )
            upload_lua = work / "upload.lua"
            upload_lua.write_text(UPLOAD_LUA % {"key": key, "run": uuid.uuid4().hex})
            results["POST /v1/documents (1 KB text upload)"] = parse_wrk(
                run_wrk(base_url, upload_lua, args.connections, args.wrk_threads, args.duration_s)
            )
        finally:
            api.terminate()
            api.wait(timeout=30)
    print(
        f"\n{args.connections} connections, {args.workers} uvicorn workers, "
        f"{args.duration_s} s per run, {os.cpu_count()} CPUs (API, PostgreSQL, Redis and wrk "
        "share them)\n"
    )
    print("| route | requests/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---:|---:|---:|---:|")
    for route, r in results.items():
        print(
            f"| `{route}` | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['non_2xx']:.0f} |"
        )


if __name__ == "__main__":
    main()
