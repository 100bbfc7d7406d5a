"""Queuing stored documents' processing in one statement and one send.

``POST /v1/documents/{id}/process`` is the API's hottest write. Through the
ORM it took two pooled sessions (pre-ping and reset each), about eight
statements and a blocking broker send. Here it is one autocommitted,
prepared statement on the API's raw asyncpg pool, for as many documents as
the requests :mod:`~.batching` queues together,
then one Redis round trip:

The jobs' rows are the job engine's SQL (:func:`folio_shared.jobs.rows.insert_queued`),
the same rows its outbox writes for a job sent.

1. :data:`QUEUE` locks each document row of the asking tenant (in id
   order, so two batches never wait on each other in a cycle), finds its
   active top-level job if it has one, and for a stored document without
   one inserts the job already ``queued`` with the message id it is about
   to be sent under, its ``pending`` and ``queued`` events, and sets the
   document ``queued``. The job's message is the request's, completed from
   the document row (:data:`PAYLOAD_FROM_DOCUMENT`, and the queue, by size).
   Two racing requests never both insert: the unique index
   ``uq_jobs_active_top_level`` makes the second insert do nothing, and
   that request asks again and answers the first one's job.
2. The messages go to Redis with :class:`~folio_shared.jobs.send.AsyncSender`
   (one round trip, pointers included). If a send fails, the job goes
   back to ``pending`` (:data:`~folio_shared.jobs.rows.UNSENT`) and the
   outbox relay sends it later; if the process dies between 1 and 2, the job is ``queued`` with
   a message nowhere in Redis, which the reconciler re-sends
   (:mod:`folio_shared.jobs.reconcile`). Nothing is lost either way.

Presigned uploads (``awaiting_upload``) need their object checked first and
take the reference path (:mod:`folio_api.domain.documents.reference`).

A multipart upload's rows are one statement too (:data:`STORE`: the
document, and its job queued as above), sent the same way.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import asyncpg
import msgspec
import sqlalchemy as sa

from folio_api.domain.documents.schemas import DocumentFields
from folio_api.domain.jobs.schemas import JobFields
from folio_shared.db.models import ACTIVE_TOP_LEVEL, Base, Document, Job
from folio_shared.jobs import rows

#: Fields of a ``docs.process`` payload taken from the document row (the
#: others are known before it is read), as SQL over the locked row ``w``;
#: what :func:`folio_api.domain.documents.processing.process_message` writes for
#: the same document (``tests/integration/api/test_api_process.py`` compares).
PAYLOAD_FROM_DOCUMENT = {
    "storage_key": "w.storage_key",
    "content_type": "coalesce(nullif(w.content_type, ''), 'application/octet-stream')",
}

_UPDATED = ("status", "error", "updated_at")
_DOCUMENT_OUT = [
    f"CASE WHEN u.id IS NULL THEN d.{c.name} ELSE u.{c.name} END AS d_{c.name}"
    if c.name in _UPDATED
    else f"d.{c.name} AS d_{c.name}"
    for c in sa.inspect(Document).columns
]
#: the job answering: the one inserted, else the active one found
_JOB_OUT = [
    f"CASE WHEN j.id IS NULL THEN a.{c.name} ELSE j.{c.name} END AS j_{c.name}"
    for c in sa.inspect(Job).columns
]
_PAYLOAD = ", ".join(f"'{k}', {v}" for k, v in PAYLOAD_FROM_DOCUMENT.items())
#: The jobs of :data:`QUEUE` (the job engine's SQL): the request's
#: message, completed from the document row and sent to the queue for its size.
_QUEUED_JOBS = rows.insert_queued(
    "j",
    source="w",
    job_id="w.job_id",
    tenant_id="w.tenant_id",
    document_id="w.document_id",
    priority="w.priority",
    max_retries="w.max_retries",
    message=(
        "w.envelope::jsonb || jsonb_build_object('queue', w.q, 'payload',"
        f" (w.envelope::jsonb -> 'payload') || jsonb_build_object({_PAYLOAD}))"
    ),
    message_id="w.message_id",
    on_conflict=f"ON CONFLICT (document_id) WHERE {ACTIVE_TOP_LEVEL} DO NOTHING",
)

#: Queue documents: one array per field of :class:`Ask` ($1 document ids,
#: $2 tenant ids, $3 job ids, $4 message ids, $5 priorities, $6 max
#: retries, $7 envelopes as JSON text, $8 queues, $9 queues of large
#: documents, $10 the size from which a document is large), one element per
#: distinct document. One row per document of the asking tenant found:
#: ``d_*`` the document (as updated), ``j_*`` the job inserted
#: (``inserted``) or else its active job found. A stored document with
#: neither was queued meanwhile by another request: ask again.
QUEUE = f"""
WITH r AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[],
                       $7::text[], $8::text[], $9::text[], $10::bigint[])
    AS r(document_id, tenant_id, job_id, message_id, priority, max_retries, envelope, queue,
         large_queue, large_bytes)
), d AS (
  SELECT documents.* FROM documents JOIN r ON r.document_id = documents.id
  WHERE documents.id = ANY($1::uuid[]) AND documents.tenant_id = r.tenant_id
    AND documents.status <> 'deleted'
  ORDER BY documents.id FOR UPDATE OF documents
), a AS (
  SELECT * FROM jobs WHERE document_id = ANY($1::uuid[]) AND {ACTIVE_TOP_LEVEL}
), w AS (
  SELECT r.*, d.storage_key, d.content_type,
         CASE WHEN coalesce(d.size_bytes, 0) >= r.large_bytes THEN r.large_queue ELSE r.queue END
           AS q
  FROM d JOIN r ON r.document_id = d.id AND r.tenant_id = d.tenant_id
  WHERE d.status <> 'awaiting_upload' AND NOT EXISTS (SELECT FROM a WHERE a.document_id = d.id)
), {_QUEUED_JOBS}, u AS (
  UPDATE documents SET status = 'queued', error = NULL, updated_at = now()
  WHERE documents.id = ANY(ARRAY(SELECT document_id FROM j))
  RETURNING documents.*
)
SELECT {", ".join([*_DOCUMENT_OUT, *_JOB_OUT])}, j.id IS NOT NULL AS inserted
FROM d LEFT JOIN a ON a.document_id = d.id LEFT JOIN j ON j.document_id = d.id
  LEFT JOIN u ON u.id = d.id
"""  # noqa: S608 - built from the models' column names and constants only

_STORED_OUT = [f"d.{c.name} AS d_{c.name}" for c in sa.inspect(Document).columns] + [
    f"j.{c.name} AS j_{c.name}" for c in sa.inspect(Job).columns
]

#: The job of :data:`STORE` (the job engine's SQL), when there is one.
_STORED_JOB = rows.insert_queued(
    "j",
    source="d",
    where="$10::uuid IS NOT NULL",
    job_id="$10::uuid",
    tenant_id="d.tenant_id",
    document_id="d.id",
    priority="$12",
    max_retries="$13",
    message="$14::jsonb",
    message_id="$11",
)

#: Store an uploaded document, and when it is to be processed its job,
#: already ``queued`` under the message id it is about to be sent with
#: (and its events), in one statement: $1 document id, $2 tenant id,
#: $3 filename, $4 kind, $5 content type, $6 size, $7 SHA-256, $8 storage
#: key, $9 metadata; $10 job id (NULL: not processed), $11 message id,
#: $12 priority, $13 max retries, $14 the job's message (the outbox
#: envelope). No row: the tenant holds these bytes already
#: (``uq_documents_tenant_id_sha256``), and nothing was written.
STORE = f"""
WITH d AS (
  INSERT INTO documents (id, tenant_id, filename, kind, content_type, size_bytes, sha256,
                         storage_key, status, metadata)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
          CASE WHEN $10::uuid IS NULL THEN 'uploaded' ELSE 'queued' END, $9::jsonb)
  ON CONFLICT (tenant_id, dedupe_sha256) WHERE dedupe_sha256 IS NOT NULL DO NOTHING
  RETURNING *
), {_STORED_JOB}
SELECT {", ".join(_STORED_OUT)} FROM d LEFT JOIN j ON j.document_id = d.id
"""  # noqa: S608 - built from the models' column names and constants only

_decode_json = msgspec.json.Decoder().decode
_encode_json = msgspec.json.Encoder().encode


def _json_text(value: Any) -> str:
    return _encode_json(value).decode()


def _json_value(text: str) -> Any:
    """A JSON column's value (msgspec; the standard library for the
    numbers msgspec refuses, such as a jsonb decimal beyond a float)."""
    try:
        return _decode_json(text)
    except msgspec.DecodeError:
        return json.loads(text)


#: Session settings of the API's asyncpg connections, which run only the
#: statements here: :data:`QUEUE` looks documents and jobs up by primary key
#: and ``uq_jobs_active_top_level`` whatever its arrays hold, yet PostgreSQL
#: planned every execution afresh (custom plans), which was most of its CPU
#: for a batch of one (a read: 335 µs → 115 µs, an insert: 675 µs → 400 µs,
#: with generic plans). A generic plan is made once per connection (and
#: again after each ``ANALYZE`` of its tables), from the statistics of that
#: moment: with none yet (a fresh install, a restored database) it looked
#: the active jobs up through an index of all top-level jobs, and kept
#: doing so as the table grew. So generic plans only once ``jobs`` has
#: statistics of at least :data:`GENERIC_PLANS_FROM_JOBS` rows; before, the
#: connection plans each execution, and the pool replaces its connections
#: every few thousand statements (``max_queries``), so a young database's
#: connections move to generic plans soon after it has grown.
#: ``enable_seqscan = off`` keeps index plans on small tables too.
#: ``tests/integration/api/test_queueing_plans.py`` checks the plans.
GENERIC_PLANS_FROM_JOBS = 1000
SESSION_SETTINGS = {"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"}

_JOBS_ANALYSED = "SELECT reltuples FROM pg_class WHERE oid = 'jobs'::regclass"


def _attributes(model: type[Base]) -> list[tuple[str, str, Any]]:
    """(attribute, column, enum class or None) of each mapped column."""
    out = []
    for attr in sa.inspect(model).column_attrs:
        column = attr.columns[0]
        out.append((attr.key, column.name, getattr(column.type, "enum_class", None)))
    return out


_DOCUMENT = [(a, "d_" + c, e) for a, c, e in _attributes(Document)]
_JOB = [(a, "j_" + c, e) for a, c, e in _attributes(Job)]


def _view(spec: list[tuple[str, str, Any]], row: Mapping[str, Any]) -> SimpleNamespace:
    """A row's columns as attributes, under the model's attribute names:
    what the answers read (:class:`~.schemas.DocumentFields`,
    :class:`~folio_api.domain.jobs.schemas.JobFields`), without an ORM
    instance (its instrumented attributes were a visible part of every
    answer's CPU, and these are only read)."""
    values = {}
    for attr, column, enum in spec:
        value = row[column]
        values[attr] = value if enum is None or value is None else enum(value)
    return SimpleNamespace(**values)


def document_of(row: Mapping[str, Any]) -> DocumentFields:
    """The document of a :data:`QUEUE` row."""
    view: DocumentFields = _view(_DOCUMENT, row)
    return view


def _job(row: Mapping[str, Any]) -> JobFields | None:
    if row["j_id"] is None:
        return None
    view: JobFields = _view(_JOB, row)
    return view


async def init_connection(conn: asyncpg.Connection) -> None:
    """JSON columns as Python values, and :data:`SESSION_SETTINGS`, on the
    API's asyncpg connections."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, encoder=_json_text, decoder=_json_value, schema="pg_catalog"
        )
    settings = dict(SESSION_SETTINGS)
    if (await conn.fetchval(_JOBS_ANALYSED) or -1) < GENERIC_PLANS_FROM_JOBS:
        settings.pop("plan_cache_mode")  # PostgreSQL's own choice, per execution
    for name, value in settings.items():
        await conn.execute("SELECT set_config($1, $2, false)", name, value)


@dataclass(frozen=True, slots=True)
class Ask:
    """A request to queue ``document_id`` of ``tenant_id`` as job ``job_id``,
    sent as Dramatiq message ``message_id``. ``envelope``: the job's message
    as the outbox stores it, but for :data:`PAYLOAD_FROM_DOCUMENT`;
    ``queue``, or ``large_queue`` for a document of ``large_bytes`` or more."""

    document_id: uuid.UUID
    tenant_id: uuid.UUID
    job_id: uuid.UUID
    message_id: str
    priority: str
    max_retries: int
    envelope: dict[str, Any]
    queue: str
    large_queue: str
    large_bytes: int


@dataclass(frozen=True, slots=True)
class Queued:
    """A document found by :func:`queue`, with its ``active`` job (found),
    or the ``new`` one just queued; neither: queued meanwhile, ask again."""

    document: DocumentFields
    active: JobFields | None
    new: JobFields | None


async def queue(conn: asyncpg.Connection, asks: list[Ask]) -> dict[uuid.UUID, Queued]:
    """Run :data:`QUEUE` for ``asks`` (distinct documents); what it found,
    by document id (a document missing: not one of its tenant's)."""
    rows = await conn.fetch(
        QUEUE,
        [a.document_id for a in asks],
        [a.tenant_id for a in asks],
        [a.job_id for a in asks],
        [a.message_id for a in asks],
        [a.priority for a in asks],
        [a.max_retries for a in asks],
        [_json_text(a.envelope) for a in asks],
        [a.queue for a in asks],
        [a.large_queue for a in asks],
        [a.large_bytes for a in asks],
    )
    out = {}
    for row in rows:
        job = _job(row)
        new = row["inserted"]
        out[row["d_id"]] = Queued(document_of(row), None if new else job, job if new else None)
    return out


@dataclass(frozen=True, slots=True)
class Upload:
    """What :data:`STORE` writes: the document's fields, and ``job_id``
    (``None``: not processed) with its ``message_id``, ``priority``,
    ``max_retries`` and ``envelope``."""

    document_id: uuid.UUID
    tenant_id: uuid.UUID
    filename: str
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    metadata: dict[str, Any]
    job_id: uuid.UUID | None = None
    message_id: str | None = None
    priority: str | None = None
    max_retries: int | None = None
    envelope: dict[str, Any] | None = None


async def store(
    conn: asyncpg.Connection, upload: Upload
) -> tuple[DocumentFields, JobFields | None] | None:
    """Run :data:`STORE`: the document and job written, or ``None`` if the
    tenant holds the same bytes already (nothing written)."""
    row = await conn.fetchrow(
        STORE,
        upload.document_id,
        upload.tenant_id,
        upload.filename,
        upload.kind,
        upload.content_type,
        upload.size_bytes,
        upload.sha256,
        upload.storage_key,
        upload.metadata,
        upload.job_id,
        upload.message_id,
        upload.priority,
        upload.max_retries,
        upload.envelope,
    )
    if row is None:
        return None
    return document_of(row), _job(row)


async def unsent(conn: asyncpg.Connection, job_ids: list[uuid.UUID]) -> None:
    """Jobs whose message could not be sent: back to ``pending``.

    Planned for these ids each time (a rare path): a generic plan made on
    an empty ``jobs`` table walked the status index over every queued job."""
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        await conn.execute(rows.UNSENT, job_ids)
