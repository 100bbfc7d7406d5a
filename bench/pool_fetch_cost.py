"""What a pool checkout costs the event loop: the client CPU of one small
statement through ``Pool.fetch`` (take a connection, run, give it back)
against the same statement on a connection held between statements, as
the job engine's rounds now hold theirs (``folio_shared.jobs.bookkeeper``).

Starts its own PostgreSQL, opens a pool as the job engine's (no reset on
release), then alternates the two ways ``--rounds`` times, ``--statements``
statements each, and prints the CPU microseconds per statement of this
process's only thread (the client side: asyncpg and the event loop).

    .venv/bin/python bench/pool_fetch_cost.py --rounds 3 --statements 4000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from _servers import BenchServers

STATEMENT = "SELECT $1::int"


async def _no_reset(conn: asyncpg.Connection) -> None:
    """As the job engine's pool: nothing to reset on release."""


async def _cpu_us(run: Callable[[], Awaitable[Any]], statements: int) -> float:
    for _ in range(200):  # warm: statement cache, plans
        await run()
    started = time.thread_time()
    for _ in range(statements):
        await run()
    return (time.thread_time() - started) / statements * 1e6


async def _measure(url: str, rounds: int, statements: int) -> None:
    pool = await asyncpg.create_pool(url, min_size=2, max_size=4, reset=_no_reset)
    try:
        held = await pool.acquire()
        try:
            for n in range(1, rounds + 1):
                checkout = await _cpu_us(lambda: pool.fetch(STATEMENT, 1), statements)
                kept = await _cpu_us(lambda: held.fetch(STATEMENT, 1), statements)
                print(
                    f"round {n}: Pool.fetch {checkout:.1f} µs, held connection {kept:.1f} µs"
                    f" CPU per statement ({checkout - kept:.1f} µs for the checkout)"
                )
        finally:
            await pool.release(held)
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--statements", type=int, default=4000)
    args = parser.parse_args()
    with BenchServers() as servers:
        asyncio.run(_measure(servers.database_url, args.rounds, args.statements))


if __name__ == "__main__":
    main()
