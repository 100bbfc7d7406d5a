"""Queuing a stored document's processing in two statements and one send.

``POST /v1/documents/{id}/process`` is the API's hottest write. Through the
ORM it took two pooled sessions (pre-ping and reset each), about eight
statements and a blocking broker send. Here it is, on the API's raw asyncpg
pool, each statement autocommitted and prepared, and each taking many
documents (the requests :mod:`~folio_api.domain.documents.batching` queues
together):

1. :data:`READ`: the documents and their active top-level jobs, if any,
   with each row's version (``xmin``).
2. :data:`INSERT`: one statement that locks each document row *only if it
   still has the version read in 1* (under READ COMMITTED a row changed
   meanwhile is re-checked against its newest version, so the lock finds
   nothing), then inserts the job already ``queued`` with the message id it
   is about to be sent under, its ``pending`` and ``queued`` events, and
   sets the document ``queued``. Whoever queued the document meanwhile
   changed its row, so two racing requests never both insert: the loser
   reads again and answers the winner's job.
3. The messages go to Redis with :class:`~folio_shared.jobs.send.AsyncSender`
   (one round trip, pointers included). If a send fails, the job goes
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
from dataclasses import dataclass
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

#: Documents and their active top-level jobs, with each row's version
#: (``xmin``): $1 document ids. One row per document found, whatever its
#: tenant: the caller matches each row's tenant with its request's. Only
#: the primary key is looked up: a join with ``unnest`` of a parameter got
#: a hash join over the whole table in the generic plan, and a
#: ``tenant_id = ANY(...)`` condition a bitmap AND with the tenant's index,
#: reading every document of the tenant.
READ = _WITH_ACTIVE_JOB + "WHERE d.id = ANY($1::uuid[]) AND d.status <> 'deleted'"

#: Queue distinct documents, each only if its row still has the version
#: read: one array per column ($1 document ids, $2 versions, $3 job ids,
#: $4 tenant ids, $5 actors, $6 queues, $7 priorities, $8 max retries,
#: $9 messages as JSON text, $10 message ids). The rows are locked in id
#: order, so two batches never wait on each other in a cycle. Returns
#: ``(document_id, at)`` for each document queued; a document missing from
#: the answer changed since it was read.
INSERT = """
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

#: Failed sends: back to ``pending`` (unsent) for the outbox relay. $1 job ids.
UNSENT = """
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


@dataclass
class Write:
    """One document to queue with :data:`INSERT` (as read, at ``version``)."""

    document: Document
    version: str
    job_id: uuid.UUID
    envelope: dict[str, Any]
    priority: str
    max_retries: int
    message_id: str


async def read(conn: asyncpg.Connection, document_ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    """:data:`READ` rows of ``document_ids`` (any tenant's: match them)."""
    rows: list[asyncpg.Record] = await conn.fetch(READ, document_ids)
    return rows


async def insert(conn: asyncpg.Connection, writes: list[Write]) -> dict[uuid.UUID, Job]:
    """Queue ``writes`` (distinct documents): the new job of each document
    queued, by document id, with its document updated to match the row; a
    document missing changed since it was read (read again)."""
    rows = await conn.fetch(
        INSERT,
        [w.document.id for w in writes],
        [w.version for w in writes],
        [w.job_id for w in writes],
        [w.document.tenant_id for w in writes],
        [w.envelope["actor"] for w in writes],
        [w.envelope["queue"] for w in writes],
        [w.priority for w in writes],
        [w.max_retries for w in writes],
        [json.dumps(w.envelope) for w in writes],
        [w.message_id for w in writes],
    )
    queued_at = {row["document_id"]: row["at"] for row in rows}
    return {
        w.document.id: queued_job(w, queued_at[w.document.id])
        for w in writes
        if w.document.id in queued_at
    }


def queued_job(write: Write, at: Any) -> Job:
    """The job :data:`INSERT` wrote at ``at``, with the write's document
    updated to match its row."""
    document = write.document
    document.__dict__.update(status=DocumentStatus.QUEUED, error=None, updated_at=at)
    job = _instance(Job)
    job.__dict__.update({attr: None for attr, _, _ in _JOB})
    job.__dict__.update(
        id=write.job_id,
        tenant_id=document.tenant_id,
        document_id=document.id,
        actor_name=write.envelope["actor"],
        queue_name=write.envelope["queue"],
        priority=write.priority,
        status=JobStatus.QUEUED,
        attempts=0,
        max_retries=write.max_retries,
        message=write.envelope,
        message_id=write.message_id,
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


async def unsent(conn: asyncpg.Connection, job_ids: list[uuid.UUID]) -> None:
    """Jobs whose message could not be sent: back to ``pending``."""
    await conn.execute(UNSENT, job_ids)
