"""Queuing a stored document's processing in two statements and one send.

``POST /v1/documents/{id}/process`` is the API's hottest write. Through the
ORM it took two pooled sessions (pre-ping and reset each), about eight
statements and a blocking broker send. Here it is, on the API's raw asyncpg
pool, each statement autocommitted and prepared:

1. :data:`READ`: the tenant's document and its active top-level job, if
   any, with the row's version (``xmin``).
2. :data:`INSERT`: one statement that locks the document row *only if it
   still has the version read in 1* (under READ COMMITTED a row changed
   meanwhile is re-checked against its newest version, so the lock finds
   nothing), then inserts the job already ``queued`` with the message id it
   is about to be sent under, its ``pending`` and ``queued`` events, and
   sets the document ``queued``. Whoever queued the document meanwhile
   changed its row, so two racing requests never both insert: the loser
   reads again and answers the winner's job.
3. The message goes to Redis with :class:`~folio_shared.jobs.send.AsyncSender`
   (one round trip, pointer included). If the send fails, the job goes
   back to ``pending`` and the outbox relay sends it later; if the process
   dies between 2 and 3, the job is ``queued`` with a message nowhere in
   Redis, which the reconciler re-sends (:mod:`folio_shared.jobs.reconcile`).
   Nothing is lost either way.

Presigned uploads (``awaiting_upload``) need their object checked first and
take the ORM path in :mod:`folio_api.domain.documents.ingest`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

import asyncpg
import sqlalchemy as sa

from folio_shared.db.enums import DocumentStatus, JobStatus
from folio_shared.db.models import Base, Document, Job

#: Top-level job statuses that make a new ``process`` answer the running job.
ACTIVE = "('pending', 'queued', 'running')"


def _columns(model: type[Base], alias: str, prefix: str) -> str:
    return ", ".join(f"{alias}.{c.name} AS {prefix}{c.name}" for c in sa.inspect(model).columns)


#: Documents with their active top-level job (``ix_jobs_active_top_level``).
_WITH_ACTIVE_JOB = f"""
SELECT {_columns(Document, "d", "d_")}, d.xmin::text AS d_version, {_columns(Job, "j", "j_")}
FROM documents d
LEFT JOIN LATERAL (
  SELECT * FROM jobs
  WHERE document_id = d.id AND parent_id IS NULL AND status IN {ACTIVE}
  ORDER BY created_at DESC LIMIT 1
) j ON true
"""  # noqa: S608 - built from the models' column names only

#: $1 document id, $2 tenant id.
READ = _WITH_ACTIVE_JOB + "WHERE d.id = $1 AND d.tenant_id = $2 AND d.status <> 'deleted'"

#: $1 document id, $2 version read, $3 job id, $4 tenant id, $5 actor,
#: $6 queue, $7 priority, $8 max retries, $9 message (jsonb), $10 message id.
#: Returns the statement's ``now()`` (the rest of the rows is known), or no
#: row when the document changed since it was read.
INSERT = """
WITH d AS (
  SELECT id FROM documents WHERE id = $1 AND xmin::text = $2 FOR UPDATE
), j AS (
  INSERT INTO jobs (id, tenant_id, document_id, actor_name, queue_name, priority, status,
                    max_retries, message, message_id, sent_at, queued_at)
  SELECT $3, $4, d.id, $5, $6, $7, 'queued', $8, $9, $10, now(), now() FROM d
  RETURNING id, document_id
), e AS (
  INSERT INTO job_events (job_id, kind, status, data)
  SELECT id, 'state', s.status, s.data FROM j, (VALUES
    (1, 'pending', '{}'::jsonb),
    (2, 'queued', jsonb_build_object('message_id', $10::text))) AS s(n, status, data)
  ORDER BY s.n
), u AS (
  UPDATE documents SET status = 'queued', error = NULL, updated_at = now()
  FROM j WHERE documents.id = j.document_id
  RETURNING documents.id
)
SELECT now() AS at FROM u
"""

#: :data:`READ` for many documents at once: $1 document ids. One row per
#: document found, whatever its tenant: the caller matches each row's tenant
#: with its request's. Only the primary key is looked up: a join with
#: ``unnest`` of a parameter got a hash join over the whole table in the
#: generic plan, and a ``tenant_id = ANY(...)`` condition a bitmap AND with
#: the tenant's index, reading every document of the tenant.
READ_MANY = _WITH_ACTIVE_JOB + "WHERE d.id = ANY($1::uuid[]) AND d.status <> 'deleted'"

#: :data:`INSERT` for many distinct documents at once, one array per
#: parameter of :data:`INSERT` (messages as JSON text). The rows are locked
#: in id order, so two batches never wait on each other in a cycle. Returns
#: ``(document_id, at)`` for each document queued; a document missing from
#: the answer changed since it was read.
INSERT_MANY = """
WITH r AS (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::text[],
                       $7::text[], $8::int[], $9::text[], $10::text[])
    AS r(document_id, version, job_id, tenant_id, actor, queue, priority, max_retries, message,
         message_id)
), d AS (
  SELECT documents.id FROM documents JOIN r ON documents.id = r.document_id
  WHERE documents.id = ANY($1::uuid[]) AND documents.xmin::text = r.version
  ORDER BY documents.id FOR UPDATE OF documents
), j AS (
  INSERT INTO jobs (id, tenant_id, document_id, actor_name, queue_name, priority, status,
                    max_retries, message, message_id, sent_at, queued_at)
  SELECT r.job_id, r.tenant_id, d.id, r.actor, r.queue, r.priority, 'queued', r.max_retries,
         r.message::jsonb, r.message_id, now(), now()
  FROM d JOIN r ON r.document_id = d.id
  RETURNING id, document_id, message_id
), e AS (
  INSERT INTO job_events (job_id, kind, status, data)
  SELECT j.id, 'state', s.status,
         CASE WHEN s.n = 1 THEN '{}'::jsonb ELSE jsonb_build_object('message_id', j.message_id) END
  FROM j, (VALUES (1, 'pending'), (2, 'queued')) AS s(n, status)
  ORDER BY j.id, s.n
), u AS (
  UPDATE documents SET status = 'queued', error = NULL, updated_at = now()
  WHERE documents.id = ANY(ARRAY(SELECT document_id FROM j))
  RETURNING documents.id
)
SELECT u.id AS document_id, now() AS at FROM u
"""

#: A failed send: back to ``pending`` (unsent) for the outbox relay. $1 job id.
UNSENT = """
UPDATE jobs SET status = 'pending', sent_at = NULL, message_id = NULL, queued_at = NULL,
  updated_at = now()
WHERE id = $1 AND status = 'queued'
"""

#: :data:`UNSENT` for many jobs: $1 job ids.
UNSENT_MANY = """
UPDATE jobs SET status = 'pending', sent_at = NULL, message_id = NULL, queued_at = NULL,
  updated_at = now()
WHERE id = ANY($1::uuid[]) AND status = 'queued'
"""

M = TypeVar("M", bound=Base)


def _converters(model: type[Base]) -> list[tuple[str, str, Any]]:
    """(attribute, column, enum class or None) of each mapped column."""
    out = []
    for attr in sa.inspect(model).column_attrs:
        column = attr.columns[0]
        out.append((attr.key, column.name, getattr(column.type, "enum_class", None)))
    return out


_DOCUMENT = _converters(Document)
_JOB = _converters(Job)


def _build(
    model: type[M], spec: list[tuple[str, str, Any]], row: Mapping[str, Any], prefix: str
) -> M:
    values: dict[str, Any] = {}
    for attr, column, enum in spec:
        value = row[prefix + column]
        if enum is not None and value is not None:
            value = enum(value)
        values[attr] = value
    # As SQLAlchemy's own loading does: a fresh instance state, the values
    # put straight in its dict (no attribute events; the object is detached
    # and only read).
    instance = _instance(model)
    instance.__dict__.update(values)
    return instance


def _instance(model: type[M]) -> M:
    """An empty, detached instance of ``model`` (a fresh instance state)."""
    instance: M = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    return instance


def document_of(row: Mapping[str, Any]) -> Document:
    """The (detached) document of a :data:`READ` row."""
    return _build(Document, _DOCUMENT, row, "d_")


def job_of(row: Mapping[str, Any]) -> Job | None:
    """The (detached) active job of a :data:`READ` row, if any."""
    if row["j_id"] is None:
        return None
    return _build(Job, _JOB, row, "j_")


async def init_connection(conn: asyncpg.Connection) -> None:
    """JSON columns as Python values on the API's asyncpg connections."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def read(
    conn: asyncpg.Connection, document_id: uuid.UUID, tenant_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(READ, document_id, tenant_id)


async def insert(
    conn: asyncpg.Connection,
    document: Document,
    *,
    version: str,
    job_id: uuid.UUID,
    envelope: dict[str, Any],
    priority: str,
    max_retries: int,
    message_id: str,
) -> Job | None:
    """Queue ``document`` (as read, at ``version``): the new job, with
    ``document`` updated to match the row; ``None`` if the row changed since
    it was read (read again)."""
    at = await conn.fetchval(
        INSERT,
        document.id,
        version,
        job_id,
        document.tenant_id,
        envelope["actor"],
        envelope["queue"],
        priority,
        max_retries,
        envelope,
        message_id,
    )
    if at is None:
        return None
    return queued_job(
        document,
        job_id=job_id,
        envelope=envelope,
        priority=priority,
        max_retries=max_retries,
        message_id=message_id,
        at=at,
    )


def queued_job(
    document: Document,
    *,
    job_id: uuid.UUID,
    envelope: dict[str, Any],
    priority: str,
    max_retries: int,
    message_id: str,
    at: Any,
) -> Job:
    """The job :data:`INSERT` wrote at ``at``, with ``document`` updated to
    match its row."""
    document.__dict__.update(status=DocumentStatus.QUEUED, error=None, updated_at=at)
    job = _instance(Job)
    job.__dict__.update({attr: None for attr, _, _ in _JOB})
    job.__dict__.update(
        id=job_id,
        tenant_id=document.tenant_id,
        document_id=document.id,
        actor_name=envelope["actor"],
        queue_name=envelope["queue"],
        priority=priority,
        status=JobStatus.QUEUED,
        attempts=0,
        max_retries=max_retries,
        message=envelope,
        message_id=message_id,
        sent_at=at,
        progress=0,
        units_done=0,
        children_total=0,
        children_done=0,
        created_at=at,
        queued_at=at,
        updated_at=at,
    )
    return job


async def unsent(conn: asyncpg.Connection, job_id: uuid.UUID) -> None:
    await conn.execute(UNSENT, job_id)
