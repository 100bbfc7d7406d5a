"""The job engine's per-message statements on a raw asyncpg pool.

A tracked message costs a claim and an outcome. Through SQLAlchemy each is
a checkout ping, BEGIN, the statement, COMMIT and a reset on release: five
round trips. Each statement of :mod:`folio_shared.jobs.store` is atomic on
its own, so the job engine runs these autocommitted on asyncpg, with
prepared statements: one round trip.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import asyncpg
import sqlalchemy as sa

from folio_shared.db.enums import FailureCause, JobStatus
from folio_shared.jobs import store
from folio_shared.jobs.store import Claim


def positional(statement: sa.TextClause) -> tuple[str, list[str]]:
    """``:name`` parameters → asyncpg's ``$n``, with the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return re.sub(r"(?<![:\w]):([a-z_]+)", number, statement.text), names


class FastStatements:
    """The job engine's per-message statements, ready for asyncpg."""

    def __init__(self) -> None:
        self.claim = positional(store.CLAIM)
        self.succeed = positional(store.SUCCEED)
        self.fail = positional(store.FAIL)

    @staticmethod
    def args(spec: tuple[str, list[str]], values: dict[str, Any]) -> list[Any]:
        return [values[name] for name in spec[1]]


FAST = FastStatements()


async def claim_fast(
    pool: asyncpg.Pool,
    job_id: uuid.UUID,
    *,
    worker: str,
    lease_ms: int,
    continuation: bool,
    message_id: str | None = None,
) -> Claim | None:
    """:func:`store.claim` in one round trip."""
    values = {
        "id": job_id,
        "worker": worker,
        "lease_s": lease_ms / 1000,
        "continuation": continuation,
        "message_id": message_id,
    }
    row = await pool.fetchrow(FAST.claim[0], *FAST.args(FAST.claim, values))
    if row is None:
        return None
    return Claim(
        job_id=row["id"],
        attempt=row["attempts"],
        max_retries=row["max_retries"],
        tenant_id=row["tenant_id"],
        document_id=row["document_id"],
        parent_id=row["parent_id"],
        continuation=row["continuation"],
        previous_cause=row["cause"],
        batch_id=row["batch_id"],
    )


async def succeed_fast(
    pool: asyncpg.Pool, job_id: uuid.UUID, attempt: int, result: dict[str, Any] | None
) -> bool:
    """:func:`store.succeed` in one round trip (for jobs without a parent)."""
    values = {"id": job_id, "attempt": attempt, "result": json.dumps(result) if result else None}
    return await pool.fetchrow(FAST.succeed[0], *FAST.args(FAST.succeed, values)) is not None


async def retry_fast(
    pool: asyncpg.Pool,
    job_id: uuid.UUID,
    attempt: int,
    *,
    cause: FailureCause,
    error_type: str,
    error_message: str,
    retry_in_ms: int,
) -> bool:
    """A failed attempt with a retry scheduled, in one round trip."""
    values = {
        "id": job_id,
        "attempt": attempt,
        "status": JobStatus.QUEUED.value,
        "cause": cause.value,
        "error_type": error_type[:200],
        "error_message": error_message[:4000],
        "final": False,
        "retry_in_s": retry_in_ms / 1000,
        "uncount": 0,
    }
    return await pool.fetchrow(FAST.fail[0], *FAST.args(FAST.fail, values)) is not None


async def renew_leases_fast(
    pool: asyncpg.Pool, job_ids: list[uuid.UUID], *, worker: str, lease_ms: int
) -> set[uuid.UUID]:
    """:func:`store.renew_leases` on the asyncpg pool."""
    if not job_ids:
        return set()
    rows = await pool.fetch(
        "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::float8)"
        " WHERE id = ANY($1::uuid[]) AND status = 'running' AND worker = $2"
        " RETURNING id, cancel_requested_at IS NOT NULL AS cancel",
        job_ids,
        worker,
        lease_ms / 1000,
    )
    return {r["id"] for r in rows if r["cancel"]}
