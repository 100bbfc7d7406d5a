"""The job engine's per-message statements for many jobs at once.

The claims and the common outcomes of all worker threads of a process are
written in rounds (:mod:`folio_shared.jobs.bookkeeper`): **one statement
per round**, whatever mix of claims and outcomes waited together, instead
of one per job (or one per kind), each row still fenced as in
:mod:`folio_shared.jobs.store`:

- its claims are :data:`store.CLAIM` over ``unnest`` of the jobs' ids,
  continuation flags and message ids: a job is claimed only from the same
  states, its attempt is counted the same way, and a job missing from
  ``RETURNING`` is a lost claim for its message alone;
- its outcomes (successes and retried failures) are written each only
  while its job is ``running`` *with that attempt*, with their
  ``job_events`` rows in the same statement.

A job appears at most once per round. The round locks all its rows (claims
and outcomes alike) in id order first, so two rounds (or a round and the
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

#: The round's inputs: ``u`` the claims' messages (see store.CLAIM), ``ou``
#: the outcomes (``status``: ``succeeded`` or ``queued``).
_SOURCES = """u AS (
      SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:continuations AS boolean[]),
                           CAST(:message_ids AS text[]), CAST(:earlies AS boolean[]))
        AS u(id, continuation, message_id, early)
    ), ou AS (
      SELECT * FROM unnest(CAST(:outcome_ids AS uuid[]), CAST(:attempts AS integer[]),
                           CAST(:statuses AS text[]), CAST(:results AS jsonb[]),
                           CAST(:causes AS text[]), CAST(:error_types AS text[]),
                           CAST(:error_messages AS text[]), CAST(:retry_in_s AS float8[]))
        AS ou(id, attempt, status, result, cause, error_type, error_message, retry_in_s)
    ), """

#: Successes and retried failures of the jobs of ``ou``, each fenced on its
#: attempt; the same columns and event data as store.SUCCEED and store.FAIL.
_OUTCOMES = """, r AS (
      UPDATE jobs SET
        status = ou.status, updated_at = now(), lease_expires_at = NULL,
        cause = ou.cause, error_type = ou.error_type, error_message = ou.error_message,
        finished_at = CASE WHEN ou.status = 'succeeded' THEN now() ELSE NULL END,
        progress = CASE WHEN ou.status = 'succeeded' THEN 100 ELSE jobs.progress END,
        result = CASE WHEN ou.status = 'succeeded' THEN ou.result ELSE jobs.result END,
        eta = CASE WHEN ou.status = 'succeeded' THEN jobs.eta
                   ELSE now() + make_interval(secs => ou.retry_in_s) END,
        worker = CASE WHEN ou.status = 'succeeded' THEN jobs.worker ELSE NULL END
      FROM o JOIN ou ON ou.id = o.id
      WHERE jobs.id = o.id AND jobs.status = 'running' AND jobs.attempts = ou.attempt
      RETURNING jobs.id, ou.attempt, ou.status, ou.cause, ou.error_type, ou.error_message,
                ou.retry_in_s
    ), re AS (
      INSERT INTO job_events (job_id, kind, status, data)
      SELECT id, 'state', status,
             CASE WHEN status = 'succeeded' THEN jsonb_build_object('attempt', attempt)
                  ELSE jsonb_build_object('attempt', attempt, 'cause', cause,
                       'error_type', error_type, 'error_message', error_message,
                       'retry_in_s', retry_in_s) END
      FROM r
    )
    SELECT t.id, t.attempts, t.max_retries, t.tenant_id, t.document_id, t.parent_id,
           t.continuation, t.cause, t.batch_id
    FROM t
    UNION ALL
    SELECT r.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM r
"""

#: The claims' rows: an early claim (made as its message was fetched,
#: ``ClaimRequest.early``) never takes a job's last allowed attempt.
_CLAIMED_FROM = """o JOIN u ON u.id = o.id AND (NOT u.early OR EXISTS (
      SELECT 1 FROM jobs j WHERE j.id = u.id AND j.attempts < j.max_retries))"""

#: One round: the claims of ``u`` and the outcomes of ``ou``, their rows
#: locked together in id order. Returns a row per job claimed or recorded.
ROUND = sa.text(
    "WITH "
    + store.CLAIM_CTES.format(
        source=_SOURCES,
        ids="id = ANY(array_cat(CAST(:ids AS uuid[]), CAST(:outcome_ids AS uuid[])))",
        message_id="u.message_id",
        from_=_CLAIMED_FROM,
        continuation="u.continuation",
    )
    + _OUTCOMES
)

_ROUND = positional(ROUND)


@dataclass(frozen=True)
class ClaimRequest:
    """A message asking to run its job. ``early``: claimed as the message
    was fetched, before a thread took it (:mod:`folio_shared.jobs.reserve`):
    refused on the job's last allowed attempt, which a worker killed before
    the thread started it would spend for nothing (the reconciler would
    then quarantine a job that never ran)."""

    job_id: uuid.UUID
    continuation: bool
    message_id: str | None
    early: bool = False


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


#: A round's request: a claim or an outcome.
Request = ClaimRequest | OutcomeRequest


async def run_round(
    conn: asyncpg.Pool | asyncpg.Connection,
    requests: Sequence[Request],
    *,
    worker: str,
    lease_ms: int,
) -> list[Claim | bool | None]:
    """Claim or record each request's job (ids must be distinct), in one
    statement. Per request, in order: a claim's :class:`Claim`, or ``None``
    where the job is not claimable (held, finished or cancelled); an
    outcome's ``True``, or ``False`` where the fence refused it (the job
    is no longer running that attempt)."""
    claims = [r for r in requests if isinstance(r, ClaimRequest)]
    outcomes = [r for r in requests if isinstance(r, OutcomeRequest)]
    values = {
        "ids": [r.job_id for r in claims],
        "continuations": [r.continuation for r in claims],
        "message_ids": [r.message_id for r in claims],
        "earlies": [r.early for r in claims],
        "worker": worker,
        "lease_s": lease_ms / 1000,
        "outcome_ids": [r.job_id for r in outcomes],
        "attempts": [r.attempt for r in outcomes],
        "statuses": [r.status.value for r in outcomes],
        "results": [json.dumps(r.result) if r.result else None for r in outcomes],
        "causes": [r.cause.value if r.cause else None for r in outcomes],
        "error_types": [r.error[0][:200] if r.error else None for r in outcomes],
        "error_messages": [r.error[1][:4000] if r.error else None for r in outcomes],
        "retry_in_s": [r.retry_in_ms / 1000 for r in outcomes],
    }
    rows = await conn.fetch(_ROUND[0], *[values[name] for name in _ROUND[1]])
    # ids are distinct: a row answers the one request of its job
    by_id = {row["id"]: row for row in rows}
    out: list[Claim | bool | None] = []
    for r in requests:
        row = by_id.get(r.job_id)
        if not isinstance(r, ClaimRequest):
            out.append(row is not None)
        elif row is None:
            out.append(None)
        else:
            out.append(
                Claim(
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
            )
    return out


#: Give back claims whose messages will not run (handed back or deferred
#: before their thread started them, :mod:`folio_shared.jobs.reserve`):
#: each job still ``running`` that attempt for this worker is ``queued``
#: again with the attempt given back (and no start, if it was the first).
_UNCLAIM = """
    WITH u AS (
      SELECT * FROM unnest($1::uuid[], $2::integer[]) AS u(id, attempt)
    ), o AS MATERIALIZED (
      SELECT jobs.id FROM jobs JOIN u ON u.id = jobs.id
      WHERE jobs.status = 'running' AND jobs.worker = $3 AND jobs.attempts = u.attempt
        AND jobs.completion_sent_at IS NULL
      ORDER BY jobs.id FOR UPDATE OF jobs
    ), t AS (
      UPDATE jobs SET status = 'queued', attempts = attempts - 1, worker = NULL,
        lease_expires_at = NULL, updated_at = now(),
        started_at = CASE WHEN attempts = 1 THEN NULL ELSE started_at END
      FROM o WHERE jobs.id = o.id AND jobs.status = 'running' AND jobs.worker = $3
      RETURNING jobs.id, jobs.attempts
    ), e AS (
      INSERT INTO job_events (job_id, kind, status, data)
      SELECT id, 'state', 'queued', jsonb_build_object('attempt', attempts, 'unclaimed', true)
      FROM t
    )
    SELECT id, attempts FROM t
"""


async def unclaim_many(
    conn: asyncpg.Pool | asyncpg.Connection,
    claims: Sequence[tuple[uuid.UUID, int]],
    *,
    worker: str,
) -> list[tuple[uuid.UUID, int]]:
    """Undo ``worker``'s claims (job id, attempt) of jobs that did not start:
    back to ``queued``, the attempt given back. Returns the jobs undone,
    each with its attempts now (a claim its lease already lost to another
    worker is left alone)."""
    if not claims:
        return []
    rows = await conn.fetch(_UNCLAIM, [c[0] for c in claims], [c[1] for c in claims], worker)
    return [(row["id"], row["attempts"]) for row in rows]


async def claim_many(
    conn: asyncpg.Pool | asyncpg.Connection,
    requests: Sequence[ClaimRequest],
    *,
    worker: str,
    lease_ms: int,
) -> list[Claim | None]:
    """A round of claims only (see :func:`run_round`)."""
    results = await run_round(conn, requests, worker=worker, lease_ms=lease_ms)
    return [r if isinstance(r, Claim) else None for r in results]


async def record_many(
    conn: asyncpg.Pool | asyncpg.Connection, requests: Sequence[OutcomeRequest]
) -> list[bool]:
    """A round of outcomes only (see :func:`run_round`)."""
    results = await run_round(conn, requests, worker="", lease_ms=0)
    return [r is True for r in results]
