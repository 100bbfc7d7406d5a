"""A new job's rows: what the outbox writes through the ORM, and the same
rows written already sent, in SQL a caller composes into its own statement.

The outbox (:func:`~.outbox.enqueue`) adds a job ``pending`` with its
``pending`` event to the caller's transaction (:func:`new_job`,
:func:`pending_event`); once its message is sent, the job is ``queued``
under that message's id, with a ``queued`` event naming it
(:func:`~.outbox.dispatch`). A caller that sends right after an
autocommitted statement (the API's batched ``process`` path) writes the
job as it will be once sent: ``queued`` under the message id it is about
to be sent with, and both events (:func:`insert_queued`). If that send
fails, :data:`UNSENT` puts the job back to ``pending`` for the relay, as
if it had never been sent.

Both take the columns a job derives from its message (the outbox
envelope: ``actor``, ``queue``) from :data:`FROM_MESSAGE`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from folio_shared.db.enums import JobStatus
from folio_shared.db.models import Job, JobEvent

#: A new job's columns taken from its message (the outbox envelope): column -> key.
FROM_MESSAGE = {"actor_name": "actor", "queue_name": "queue"}


def new_job(
    env: dict[str, Any],
    *,
    job_id: uuid.UUID,
    tenant_id: uuid.UUID | None,
    document_id: uuid.UUID | None,
    parent_id: uuid.UUID | None,
    priority: str,
    max_retries: int,
    eta: datetime | None,
    meta: dict[str, Any] | None = None,
    batch_id: uuid.UUID | None = None,
) -> Job:
    """A ``pending`` job sending the outbox envelope ``env`` (in no session);
    ``meta``: the client's labels (the ``metadata`` column), ``batch_id``:
    the batch it belongs to."""
    return Job(
        id=job_id,
        tenant_id=tenant_id,
        document_id=document_id,
        parent_id=parent_id,
        **{column: env[key] for column, key in FROM_MESSAGE.items()},
        priority=priority,
        status=JobStatus.PENDING,
        max_retries=max_retries,
        message=env,
        eta=eta,
        meta=meta,
        batch_id=batch_id,
    )


def pending_event(job_id: uuid.UUID) -> JobEvent:
    """The event of a job written ``pending``."""
    return JobEvent(job_id=job_id, kind="state", status=JobStatus.PENDING, data={})


def insert_queued(
    name: str,
    *,
    source: str,
    job_id: str,
    tenant_id: str,
    document_id: str,
    priority: str,
    max_retries: str,
    message: str,
    message_id: str,
    where: str = "",
    on_conflict: str = "",
) -> str:
    """Two common table expressions of a ``WITH`` statement: ``name``, the
    jobs inserted ``queued`` (top-level, sent under ``message_id``), one
    per row of ``source`` (a table expression, filtered by ``where``),
    ``RETURNING *``; and ``<name>_events``, their ``pending`` and
    ``queued`` events. Each other argument is the SQL expression of that
    column over ``source``'s rows (``message``: the outbox envelope as
    ``jsonb``); ``on_conflict``: the insert's ``ON CONFLICT`` clause."""
    derived = [f"({message}) ->> '{key}'" for key in FROM_MESSAGE.values()]
    clauses = "".join(f"\n  {c}" for c in (f"WHERE {where}" if where else "", on_conflict) if c)
    return f"""{name} AS (
  INSERT INTO jobs (id, tenant_id, document_id, {", ".join(FROM_MESSAGE)}, priority, status,
                    max_retries, message, message_id, sent_at, queued_at)
  SELECT {job_id}, {tenant_id}, {document_id}, {", ".join(derived)}, {priority}, 'queued',
         {max_retries}, {message}, {message_id}, now(), now()
  FROM {source}{clauses}
  RETURNING *
), {name}_events AS (
  INSERT INTO job_events (job_id, kind, status, data)
  SELECT {name}.id, 'state', s.status,
         CASE WHEN s.n = 1 THEN '{{}}'::jsonb
              ELSE jsonb_build_object('message_id', {name}.message_id) END
  FROM {name}, (VALUES (1, '{JobStatus.PENDING}'), (2, '{JobStatus.QUEUED}')) AS s(n, status)
  ORDER BY {name}.id, s.n
)"""  # noqa: S608 - built from column names and the caller's SQL expressions only


#: Jobs written ``queued`` whose message could not be sent: back to
#: ``pending`` (unsent) for the outbox relay. $1: the job ids (asyncpg's
#: numbered parameters).
UNSENT = """
UPDATE jobs SET status = 'pending', sent_at = NULL, message_id = NULL, queued_at = NULL,
  updated_at = now()
WHERE id = ANY($1::uuid[]) AND status = 'queued'
"""
