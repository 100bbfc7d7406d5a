"""The job engine's per-message statements for many jobs at once.

The claims and the common outcomes of all worker threads of a process are
written in batches (:mod:`folio_shared.jobs.bookkeeper`): one statement per
batch instead of one per job, each row still fenced as in
:mod:`folio_shared.jobs.store`:

- :data:`CLAIM_MANY` is :data:`store.CLAIM` over ``unnest`` of the jobs'
  ids, continuation flags and message ids: a job is claimed only from the
  same states, its attempt is counted the same way, and a job missing from
  ``RETURNING`` is a lost claim for its message alone;
- :data:`RECORD_MANY` writes successes and retried failures, each only while
  its job is ``running`` *with that attempt*, with their ``job_events`` rows
  in the same statement.

Both lock their rows in id order first, so two batches (or a batch and the
lease renewal) that share jobs wait for each other instead of deadlocking.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import sqlalchemy as sa

from folio_shared.db.enums import FailureCause, JobStatus
from folio_shared.jobs import store
from folio_shared.jobs.store import Claim
from folio_shared.jobs.store_asyncpg import positional

#: The claim of many jobs: ``u`` holds each job's message (see store.CLAIM).
CLAIM_MANY = sa.text(
    store.CLAIM_TEMPLATE.format(
        source="""u AS (
      SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:continuations AS boolean[]),
                           CAST(:message_ids AS text[])) AS u(id, continuation, message_id)
    ), """,
        ids="id = ANY(CAST(:ids AS uuid[]))",
        message_id="u.message_id",
        from_="o JOIN u ON u.id = o.id",
        continuation="u.continuation",
    )
)

#: Successes and retried failures of many jobs (``u.status``: ``succeeded``
#: or ``queued``), each fenced on its attempt; the same columns and event
#: data as store.SUCCEED and store.FAIL.
RECORD_MANY = sa.text(
    """
    WITH u AS (
      SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]),
                           CAST(:statuses AS text[]), CAST(:results AS jsonb[]),
                           CAST(:causes AS text[]), CAST(:error_types AS text[]),
                           CAST(:error_messages AS text[]), CAST(:retry_in_s AS float8[]))
        AS u(id, attempt, status, result, cause, error_type, error_message, retry_in_s)
    ), o AS MATERIALIZED (
      SELECT id FROM jobs WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE
    ), t AS (
      UPDATE jobs SET
        status = u.status, updated_at = now(), lease_expires_at = NULL,
        cause = u.cause, error_type = u.error_type, error_message = u.error_message,
        finished_at = CASE WHEN u.status = 'succeeded' THEN now() ELSE NULL END,
        progress = CASE WHEN u.status = 'succeeded' THEN 100 ELSE jobs.progress END,
        result = CASE WHEN u.status = 'succeeded' THEN u.result ELSE jobs.result END,
        eta = CASE WHEN u.status = 'succeeded' THEN jobs.eta
                   ELSE now() + make_interval(secs => u.retry_in_s) END,
        worker = CASE WHEN u.status = 'succeeded' THEN jobs.worker ELSE NULL END
      FROM o JOIN u ON u.id = o.id
      WHERE jobs.id = o.id AND jobs.status = 'running' AND jobs.attempts = u.attempt
      RETURNING jobs.id, u.attempt, u.status, u.cause, u.error_type, u.error_message,
                u.retry_in_s
    ), e AS (
      INSERT INTO job_events (job_id, kind, status, data)
      SELECT id, 'state', status,
             CASE WHEN status = 'succeeded' THEN jsonb_build_object('attempt', attempt)
                  ELSE jsonb_build_object('attempt', attempt, 'cause', cause,
                       'error_type', error_type, 'error_message', error_message,
                       'retry_in_s', retry_in_s) END
      FROM t
    )
    SELECT id FROM t
    """
)

_CLAIM_MANY = positional(CLAIM_MANY)
_RECORD_MANY = positional(RECORD_MANY)


@dataclass(frozen=True)
class ClaimRequest:
    """A message asking to run its job."""

    job_id: uuid.UUID
    continuation: bool
    message_id: str | None


@dataclass(frozen=True)
class OutcomeRequest:
    """A success (``status`` ``succeeded``, with its ``result``) or a failed
    attempt to retry (``queued``, with its cause, error and delay)."""

    job_id: uuid.UUID
    attempt: int
    status: JobStatus
    result: dict[str, Any] | None = None
    cause: FailureCause | None = None
    error: tuple[str, str] | None = None
    retry_in_ms: int = 0


def _args(spec: tuple[str, list[str]], values: dict[str, Any]) -> list[Any]:
    return [values[name] for name in spec[1]]


async def claim_many(
    conn: asyncpg.Pool | asyncpg.Connection,
    requests: Sequence[ClaimRequest],
    *,
    worker: str,
    lease_ms: int,
) -> list[Claim | None]:
    """Claim each request's job (ids must be distinct); ``None`` where the
    job is not claimable (held, finished or cancelled), in request order."""
    values = {
        "ids": [r.job_id for r in requests],
        "continuations": [r.continuation for r in requests],
        "message_ids": [r.message_id for r in requests],
        "worker": worker,
        "lease_s": lease_ms / 1000,
    }
    rows = await conn.fetch(_CLAIM_MANY[0], *_args(_CLAIM_MANY, values))
    won = {
        row["id"]: Claim(
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
        for row in rows
    }
    return [won.get(r.job_id) for r in requests]


async def record_many(
    conn: asyncpg.Pool | asyncpg.Connection, requests: Sequence[OutcomeRequest]
) -> list[bool]:
    """Record each outcome (ids must be distinct); ``False`` where the fence
    refused it (the job is no longer running that attempt)."""
    values = {
        "ids": [r.job_id for r in requests],
        "attempts": [r.attempt for r in requests],
        "statuses": [r.status.value for r in requests],
        "results": [json.dumps(r.result) if r.result else None for r in requests],
        "causes": [r.cause.value if r.cause else None for r in requests],
        "error_types": [r.error[0][:200] if r.error else None for r in requests],
        "error_messages": [r.error[1][:4000] if r.error else None for r in requests],
        "retry_in_s": [r.retry_in_ms / 1000 for r in requests],
    }
    rows = await conn.fetch(_RECORD_MANY[0], *_args(_RECORD_MANY, values))
    done = {row["id"] for row in rows}
    return [r.job_id in done for r in requests]
