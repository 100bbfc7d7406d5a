"""What one tracked no-op job costs PostgreSQL: transactions, rows written,
index entries read, WAL bytes and CPU, per job.

Starts its own Redis and PostgreSQL, creates the jobs with the outbox (not
counted), then runs Folio's worker on them (as ``broker_overhead.py``
does) and reads PostgreSQL's counters before and after: transactions,
rows inserted, updated and HOT-updated by table, index entries read, WAL
bytes, and the CPU seconds of the worker processes, PostgreSQL and Redis
over the whole run (the worker's start included).

    .venv/bin/python bench/job_pg_cost.py --jobs 5000 --processes 1

``--sql`` (repeatable) runs a statement before the workers start, for
experiments (``--sql "DROP INDEX ix_jobs_document_id"``); ``--threads``
sets the threads per worker process (default 8, as the other benchmarks).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import sqlalchemy as sa
from _cpu_meter import cpu_by_role, session_cpu_s
from _servers import BenchServers, folio_worker_argv, workers
from broker_overhead import _create_folio_jobs

TABLES_SQL = """
SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
FROM pg_stat_user_tables WHERE relname IN ('jobs', 'job_events', 'webhook_deliveries')
"""
DATABASE_SQL = """
SELECT xact_commit, tup_returned, tup_fetched FROM pg_stat_database
WHERE datname = current_database()
"""


def _counters(conn: Any) -> dict[str, Any]:
    tables = {r[0]: tuple(int(v) for v in r[1:]) for r in conn.execute(sa.text(TABLES_SQL))}
    wal = int(
        conn.execute(
            sa.text("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')")
        ).scalar_one()
    )
    xacts, returned, fetched = conn.execute(sa.text(DATABASE_SQL)).one()
    idx = int(
        conn.execute(
            sa.text("SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes")
        ).scalar_one()
    )
    conn.commit()
    return {
        "tables": tables,
        "wal": wal,
        "idx_read": idx,
        "db": (int(xacts), int(returned), int(fetched)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--fsync", action="store_true")
    parser.add_argument(
        "--sql", action="append", default=[], help="SQL run before the workers (experiments)"
    )
    args = parser.parse_args()
    with BenchServers(fsync=args.fsync) as servers:
        asyncio.run(_create_folio_jobs(servers, args.jobs))
        engine = sa.create_engine(
            servers.database_url.replace("postgresql://", "postgresql+psycopg2://")
        )
        done_sql = sa.text("SELECT count(*) FROM jobs WHERE status = 'succeeded'")
        with engine.connect() as conn, workers(servers.root / "logs") as group:
            for sql in args.sql:
                conn.execute(sa.text(sql))
            conn.execute(sa.text("SELECT pg_stat_reset()"))
            conn.commit()
            time.sleep(0.6)  # table counters reach the views at most every 0.5 s
            before = _counters(conn)
            cpu0 = cpu_by_role(-1, servers.root, servers.redis.port)
            started = time.monotonic()
            group.spawn(
                folio_worker_argv(args.processes, args.threads), servers.folio_env(), "folio"
            )
            while int(conn.execute(done_sql).scalar_one()) < args.jobs:
                conn.commit()
                time.sleep(0.05)
                if time.monotonic() - started > 600:
                    raise SystemExit("timeout")
            seconds = time.monotonic() - started
            worker_cpu = session_cpu_s({p.pid for p in group.procs})
            cpu1 = cpu_by_role(-1, servers.root, servers.redis.port)
        # the workers' backends report their counters as they exit
        time.sleep(1.5)
        with engine.connect() as conn:
            after = _counters(conn)
        engine.dispose()
    n = args.jobs
    print(
        f"{n} jobs, {args.processes} process(es), fsync {'on' if args.fsync else 'off'}:"
        f" {seconds:.1f} s (with boot), {n / seconds:,.0f} jobs/s"
    )
    print(
        f"CPU ms/job (whole run incl. boot): worker {worker_cpu * 1000 / n:.2f},"
        f" postgres {(cpu1['postgres'] - cpu0['postgres']) * 1000 / n:.2f},"
        f" redis {(cpu1['redis'] - cpu0['redis']) * 1000 / n:.2f}"
    )
    print(
        f"WAL bytes/job {(after['wal'] - before['wal']) / n:,.0f};"
        f" index entries read/job {(after['idx_read'] - before['idx_read']) / n:.1f}"
    )
    for table, b in after["tables"].items():
        a = before["tables"].get(table, (0, 0, 0, 0))
        ins, upd, hot, dele = (x - y for x, y in zip(b, a, strict=True))
        print(
            f"  {table}: inserted {ins / n:.2f}/job, updated {upd / n:.2f}/job"
            f" (HOT {hot / n:.2f}), deleted {dele / n:.2f}/job"
        )
    (x0, r0, f0), (x1, r1, f1) = before["db"], after["db"]
    print(
        f"transactions/job {(x1 - x0) / n:.2f} (the bench's own progress poll included);"
        f" tuples returned/job {(r1 - r0) / n:.1f}, fetched/job {(f1 - f0) / n:.1f}"
    )


if __name__ == "__main__":
    main()
