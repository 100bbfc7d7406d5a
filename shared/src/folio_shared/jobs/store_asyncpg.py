"""The job engine's statements on a raw asyncpg pool.

Through SQLAlchemy a statement is a checkout ping, BEGIN, the statement,
COMMIT and a reset on release: five round trips. Each per-message statement
of :mod:`folio_shared.jobs.store` is atomic on its own, so the job engine
runs them autocommitted on asyncpg, with prepared statements, one round trip
each (claims and outcomes in batches: :mod:`folio_shared.jobs.store_batch`).
"""

from __future__ import annotations

import re
import uuid

import asyncpg
import sqlalchemy as sa


def positional(statement: sa.TextClause) -> tuple[str, list[str]]:
    """``:name`` parameters → asyncpg's ``$n``, with the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return re.sub(r"(?<![:\w]):([a-z_]+)", number, statement.text), names


async def renew_leases_fast(
    pool: asyncpg.Pool, job_ids: list[uuid.UUID], *, worker: str, lease_ms: int
) -> set[uuid.UUID]:
    """:func:`store.renew_leases` on the asyncpg pool. Rows are locked in id
    order, as the batched claims and outcomes lock theirs."""
    if not job_ids:
        return set()
    rows = await pool.fetch(
        "WITH o AS MATERIALIZED ("
        " SELECT id FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'running' AND worker = $2"
        " ORDER BY id FOR UPDATE)"
        " UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::float8)"
        " FROM o WHERE jobs.id = o.id AND status = 'running' AND worker = $2"
        " RETURNING jobs.id, cancel_requested_at IS NOT NULL AS cancel",
        job_ids,
        worker,
        lease_ms / 1000,
    )
    return {r["id"] for r in rows if r["cancel"]}
