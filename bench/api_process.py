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
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from folio_shared.db.engine import async_database_url

sys.path.insert(0, str(Path(__file__).parent))
import _openloop
from _cpu_meter import Meter
from _servers import BenchServers
from _uvicorn import serve, stop
from _wal_stalls import NoWalSwitches, WalSwitches, describe_stalls
from _wrk import PROCESS_LUA, UPLOAD_LUA, parse_wrk, run_wrk

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
#: WAL segment files made ready for reuse before the runs (see
#: ``BenchServers.recycle_wal``): more than the runs fill (~2.5 KB of WAL per
#: queued document; the bench prints what they wrote).
WAL_SEGMENTS = 64


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


@dataclass
class Run:
    """What the measured runs share: the options, the work folder, the
    tenant's key, the documents no run has queued yet, and what the runs
    found (result rows, CPU by part, stalls)."""

    args: argparse.Namespace
    work: Path
    key: str
    ids: list[str]
    wal: WalSwitches
    rows: list[tuple[str, str, str, dict[str, float]]] = field(default_factory=list)
    #: run, requests, CPU seconds by part
    cpu: list[tuple[str, float, dict[str, float]]] = field(default_factory=list)
    stalls: list[tuple[str, _openloop.Result, list[float]]] = field(default_factory=list)
    _fresh: Iterator[str] = field(init=False)

    def __post_init__(self) -> None:
        self._fresh = iter(self.ids)

    def take(self, n: int) -> list[str]:
        """``n`` documents no run has queued yet."""
        return [next(self._fresh) for _ in range(n)]

    def wrk(self, url: str, script: Path, duration_s: int) -> str:
        return run_wrk(url, script, self.args.connections, self.args.wrk_threads, duration_s)

    def open_loop_run(self, label: str, meter: Meter, base_url: str, rate: float) -> None:
        """One measured open-loop run at ``rate`` on documents of its own."""
        batch = self.take(int(rate * self.args.duration_s))
        meter.start()
        self.wal.start()
        r, result = open_loop(
            base_url, self.key, batch, rate, self.args.connections, self.args.duration_s
        )
        self.stalls.append((f"{label}, open loop {rate:.0f}/s", result, self.wal.stop()))
        self.cpu.append((f"{label}, open loop {rate:.0f}/s", len(batch), meter.stop()))
        server = "API" if label == "process" else "bare ASGI app (baseline)"
        self.rows.append((PROCESS_ROUTE, server, f"open loop, {rate:.0f}/s offered", r))


def process_scripts(run: Run) -> tuple[Path, Path, int]:
    """The warm-up's and the closed loop's ``wrk`` scripts, each on documents
    of its own (a document queued before only answers its active job, which
    is cheaper), and how many documents the closed loop has."""
    args = run.args
    (run.work / "warm-ids.txt").write_text("\n".join(run.take(WARM_UP_DOCUMENTS)) + "\n")
    # the closed loop takes what the open-loop runs (and the bare app's) leave
    later = int(sum(args.rates) * args.duration_s + max(args.rates) * args.duration_s)
    later += BARE_WARM_UP_DOCUMENTS
    if len(run.ids) - WARM_UP_DOCUMENTS - later < 1_000:
        sys.exit(f"--documents {len(run.ids)} is too few for these rates and duration")
    closed_ids = run.take(len(run.ids) - WARM_UP_DOCUMENTS - later)
    (run.work / "run-ids.txt").write_text("\n".join(closed_ids) + "\n")
    warm_lua, process_lua = run.work / "warm.lua", run.work / "process.lua"
    for script, file in ((warm_lua, "warm-ids.txt"), (process_lua, "run-ids.txt")):
        script.write_text(
            PROCESS_LUA
            % {
                "ids": run.work / file,
                "threads": args.wrk_threads,
                "key": run.key,
                "body": PROCESS_BODY.decode(),
            }
        )
    return warm_lua, process_lua, len(closed_ids)


def measure_api(run: Run, meter: Meter, base_url: str) -> None:
    """The ``/healthz`` baseline, ``process`` in closed and open loop, uploads."""
    args = run.args
    health_lua = run.work / "health.lua"
    health_lua.write_text('wrk.method = "GET"\n')
    run.wrk(f"{base_url}/healthz", health_lua, 2)
    out = run.wrk(f"{base_url}/healthz", health_lua, args.duration_s)
    run.rows.append(("GET /healthz (baseline: no I/O)", "API", "wrk, closed loop", parse_wrk(out)))
    warm_lua, process_lua, closed_documents = process_scripts(run)
    run.wrk(base_url, warm_lua, 3)  # warm-up
    meter.start()
    closed = parse_wrk(run.wrk(base_url, process_lua, args.duration_s))
    requests = closed["rps"] * args.duration_s
    run.cpu.append(("process, wrk closed loop", requests, meter.stop()))
    run.rows.append((PROCESS_ROUTE, "API", "wrk, closed loop", closed))
    if requests > closed_documents:
        print(f"warning: {requests:.0f} requests over {closed_documents} documents: "
              "some answered an active job; raise --documents")  # fmt: skip
    for rate in args.rates:
        run.open_loop_run("process", meter, base_url, rate)
    upload_lua = run.work / "upload.lua"
    upload_lua.write_text(UPLOAD_LUA % {"key": run.key, "run": uuid.uuid4().hex})
    meter.start()
    uploads = parse_wrk(run.wrk(base_url, upload_lua, args.duration_s))
    run.cpu.append(("upload, wrk closed loop", uploads["rps"] * args.duration_s, meter.stop()))
    run.rows.append(("POST /v1/documents (1 KB text upload)", "API", "wrk, closed loop", uploads))


def measure_bare(run: Run, meter: Meter, base_url: str) -> None:
    """Baseline 2: the same work without the framework, at the top rate,
    warmed up as the API was (its pools fill, its code paths run once)."""
    warm = run.take(BARE_WARM_UP_DOCUMENTS)
    open_loop(base_url, run.key, warm, BARE_WARM_UP_DOCUMENTS / 2, run.args.connections, 2)
    run.open_loop_run("bare app", meter, base_url, max(run.args.rates))


def print_wal(wal_mb: float, ready: int) -> None:
    wal_ready = f"{ready} segments ({ready * 16} MB) were" if ready else "none was"
    print(
        f"\nPostgreSQL wrote {wal_mb:.0f} MB of WAL during the runs; of the"
        f" 16 MB WAL segment files, {wal_ready} ready for reuse at the start"
    )
    if ready and wal_mb > ready * 16:
        print("warning: the runs created new WAL segments (see WAL_SEGMENTS)")


def print_tables(run: Run) -> None:
    """The results and the CPU per request, as Markdown tables."""
    args = run.args
    print(
        f"\n{args.connections} connections, {args.workers} uvicorn workers, "
        f"{args.duration_s} s per run, {os.cpu_count()} CPUs (API, PostgreSQL, Redis and the "
        "load generator share them)\n"
    )
    print("| route | server | load | requests/s | vs baseline | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    base_rps = run.rows[0][3]["rps"]
    for route, server, mode, r in run.rows:
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
    for label, requests, used in run.cpu:
        per = [1000 * used[p] / requests for p in parts]
        cores = sum(used[p] for p in parts) / used["elapsed"]
        stolen = used["stolen"] / used["elapsed"]
        cells = " | ".join(f"{v:.3f}" for v in per)
        print(f"| {label} | {cells} | {sum(per):.3f} | {cores:.2f} | {stolen:.2f} |")


def parse_args() -> argparse.Namespace:
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
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="folio-bench-api-"))
    with BenchServers(work / "servers") as servers:
        key, tenant_id, ids = asyncio.run(seed(servers.database_url, args.documents))
        ready = 0 if args.fresh_wal else servers.recycle_wal(WAL_SEGMENTS)
        wal_at_start = servers.wal_position()
        # --stalls: the WAL sampler runs during the open-loop runs only
        wal = WalSwitches(servers.database_url) if args.stalls else NoWalSwitches()
        run = Run(args, work, key, ids, wal)
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
        try:
            measure_api(run, Meter(api.pid, work / "servers", servers.redis.port), base_url)
        finally:
            stop(api)
        bare_env = {**env, "FOLIO_BENCH_TENANT_ID": str(tenant_id)}
        bare = serve(["_bare_api:app"], bare_env, port, args.workers, work / "bare.log")
        try:
            measure_bare(run, Meter(bare.pid, work / "servers", servers.redis.port), base_url)
        finally:
            stop(bare)
        wal_mb = (servers.wal_position() - wal_at_start) / 2**20
    print_wal(wal_mb, ready)
    if args.stalls:
        wal.close()
        for label, result, switches in run.stalls:
            print(f"\nStalls of {label} (by scheduled time, s from its start):")
            print(describe_stalls(result, switches))
    print_tables(run)


if __name__ == "__main__":
    main()
