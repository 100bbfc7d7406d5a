"""Folio's tables as typed SQLAlchemy models.

The migration in ``db/migrations/versions`` is the schema's source of truth;
these models describe the same schema for the ORM, and a test
(``tests/integration/db/test_models_match_migration.py``) checks that both
agree. Conventions:

- Primary keys are UUIDs made by Python (``uuid.uuid4``) with
  ``gen_random_uuid()`` as the server default, so raw SQL inserts work too.
  Append-only logs (``job_events``, ``audit_log``) use ``bigserial`` ids,
  which also order them.
- Times are ``timestamptz``; ``created_at`` / ``updated_at`` are set by the
  server (``now()``) and read back at once (``eager_defaults``), so no
  attribute is ever left expired (an expired attribute would need a lazy
  load, which async sessions forbid).
- Closed value sets (statuses, kinds) are text guarded by ``CHECK``
  constraints; see :mod:`folio_shared.db.enums`.
- Deleting a tenant deletes everything it owns (``ON DELETE CASCADE``);
  deleting a document deletes its pages and chunks and detaches its jobs
  (``ON DELETE SET NULL``), whose history stays until it is purged.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from folio_shared.db.enums import (
    ApiKeyKind,
    DocumentKind,
    DocumentStatus,
    FailureCause,
    JobStatus,
    PageMethod,
)

#: Dimension of the embedding vectors (the default model's output size).
EMBEDDING_DIMENSIONS = 384

#: Text search configuration of ``chunks.tsv``. ``simple`` (lower-casing, no
#: stemming, no stop words) because documents come in several languages
#: (OCR defaults to English + Portuguese): an ``english`` stemmer would
#: mangle the others, and meaning-level matching is the vector side's job
#: in hybrid search. Queries must use the same configuration, e.g.
#: ``tsv @@ websearch_to_tsquery('simple', :q)``.
TEXT_SEARCH_CONFIG = "simple"

#: Job priorities, lowest first (the broker-side priority enum lives with the
#: queue definitions; this is only the column's guard).
JOB_PRIORITIES = ("low", "normal", "high", "critical")
#: Job statuses after which a job never runs again (but by a retry).
FINISHED_JOB_STATUSES = ("succeeded", "failed", "dead", "cancelled")
#: The condition of a document's active (pending, queued or running)
#: top-level job, at most one each (``uq_jobs_active_top_level``). Written
#: as "not finished" on purpose: no index on ``status`` can serve a ``NOT
#: IN``, so a query with this condition finds the job through that unique
#: index (or the document's jobs), never by reading every active job of
#: the system, which the planner chose for ``status IN (...)`` when its
#: statistics said active jobs were rare, in the middle of a backlog.
ACTIVE_TOP_LEVEL = (
    "parent_id IS NULL AND status NOT IN ('succeeded', 'failed', 'dead', 'cancelled')"
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every Folio model."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: sa.DateTime(timezone=True),
        dict[str, Any]: JSONB,
        uuid.UUID: sa.Uuid,
    }
    __mapper_args__ = {"eager_defaults": True}


def _enum(enum_cls: type[StrEnum]) -> sa.Enum:
    """A StrEnum stored as ``VARCHAR(32)``; the CHECK constraint is declared
    separately (:func:`_check_in`) with a stable name."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


def _check_in(column: str, values: Any, name: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(
        primary_key=True, default=uuid.uuid4, server_default=sa.text("gen_random_uuid()")
    )


def _created_at() -> Mapped[datetime]:
    return mapped_column(server_default=sa.func.now())


def _updated_at() -> Mapped[datetime]:
    return mapped_column(server_default=sa.func.now(), onupdate=sa.func.now())


def _tenant_fk(*, nullable: bool = False) -> Mapped[Any]:
    return mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=nullable)


class Tenant(Base):
    """One customer: owns API keys, documents, jobs and chunks.

    ``document_retention_days``: documents older than this are purged
    (``None``, the default: kept until deleted).
    """

    __tablename__ = "tenants"
    __table_args__ = (sa.CheckConstraint("document_retention_days > 0", name="retention_positive"),)

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    document_retention_days: Mapped[int | None]
    created_at: Mapped[datetime] = _created_at()


class ApiKey(Base):
    """An API key: only its public ``prefix`` and its SHA-256 ``key_hash``
    are stored, never the key (see :mod:`folio_shared.security`).

    A ``tenant`` key has a ``tenant_id``; an ``operator`` key has none and
    opens the ops API. ``revoked_at`` set: the key no longer authenticates.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        _check_in("kind", [k.value for k in ApiKeyKind], "kind"),
        sa.CheckConstraint("(kind = 'tenant') = (tenant_id IS NOT NULL)", name="kind_tenant"),
        sa.Index("ix_api_keys_tenant_id", "tenant_id"),
    )

    id: Mapped[uuid.UUID] = _id()
    tenant_id: Mapped[uuid.UUID | None] = _tenant_fk(nullable=True)
    kind: Mapped[ApiKeyKind] = mapped_column(_enum(ApiKeyKind))
    name: Mapped[str] = mapped_column(sa.Text)
    prefix: Mapped[str] = mapped_column(sa.String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = _created_at()
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


#: ``documents.dedupe_sha256``: the bytes' hash while the document holds
#: them and is not deleted (what duplicates are looked up by).
DEDUPE_SHA256 = "CASE WHEN status IN ('awaiting_upload', 'deleted') THEN NULL ELSE sha256 END"
#: Room left on each page of ``documents`` for its rows' next versions.
DOCUMENTS_FILLFACTOR = 80


class Document(Base):
    """An uploaded file and what Folio made of it.

    ``filename`` is the client's name, sanitised, and metadata only; the file
    lives under the random ``storage_key``. ``kind`` (the real type, from the
    bytes), ``size_bytes`` and ``sha256`` are unknown (``None``) while
    ``awaiting_upload``. ``meta`` is the ``metadata`` column (client and
    extraction metadata). ``low_confidence_pages``: page numbers whose OCR
    confidence was low.

    Duplicates: one tenant holds a given ``sha256`` once, enforced by the
    unique index ``uq_documents_tenant_id_sha256`` on ``dedupe_sha256``:
    the ``sha256`` of a document whose status is neither ``awaiting_upload``
    (no bytes yet) nor ``deleted`` (so a deleted file can be uploaded
    again), else ``NULL``. A generated column rather than a predicate on
    ``status``, so that a status change touches no indexed column and is a
    HOT update (migration 0005; ``fillfactor`` leaves room for it).
    """

    __tablename__ = "documents"
    __table_args__ = (
        _check_in("kind", [k.value for k in DocumentKind], "kind"),
        _check_in("status", [s.value for s in DocumentStatus], "status"),
        sa.CheckConstraint("size_bytes >= 0", name="size_bytes_positive"),
        sa.Index(
            "uq_documents_tenant_id_sha256",
            "tenant_id",
            "dedupe_sha256",
            unique=True,
            postgresql_where=sa.text("dedupe_sha256 IS NOT NULL"),
        ),
        sa.Index("ix_documents_tenant_id_created_at", "tenant_id", "created_at"),
        {"postgresql_with": {"fillfactor": DOCUMENTS_FILLFACTOR}},
    )

    id: Mapped[uuid.UUID] = _id()
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    filename: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[DocumentKind | None] = mapped_column(_enum(DocumentKind))
    content_type: Mapped[str | None] = mapped_column(sa.Text)
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    dedupe_sha256: Mapped[str | None] = mapped_column(
        sa.String(64), sa.Computed(DEDUPE_SHA256, persisted=True)
    )
    storage_key: Mapped[str] = mapped_column(sa.Text, unique=True)
    status: Mapped[DocumentStatus] = mapped_column(
        _enum(DocumentStatus), server_default=DocumentStatus.AWAITING_UPLOAD.value
    )
    page_count: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    meta: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, default=dict, server_default=sa.text("'{}'::jsonb")
    )
    low_confidence_pages: Mapped[list[int]] = mapped_column(
        ARRAY(sa.Integer), default=list, server_default=sa.text("'{}'::integer[]")
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Job(Base):
    """One unit of queued work, its outbox entry and its history.

    Outbox: ``message`` is the payload to send, ``sent_at`` stays ``None``
    until the broker accepted it (a relay sends rows that are ``pending``
    with no ``sent_at``). ``eta``: not before this time (retry backoff).
    A running job holds a lease (``worker``, ``lease_expires_at``);
    ``attempts`` counts started attempts, ``max_retries`` the retries allowed
    after the first. Progress: ``stage``, ``progress`` (percent, 0-100),
    ``units_done`` / ``units_total`` (e.g. pages). Fan-out: children point
    at ``parent_id``; the parent counts ``children_total`` /
    ``children_done`` and ``completion_sent_at`` marks the single fan-in
    message. ``tenant_id`` is ``None`` for maintenance jobs.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        _check_in("status", [s.value for s in JobStatus], "status"),
        _check_in("cause", [c.value for c in FailureCause], "cause"),
        _check_in("priority", JOB_PRIORITIES, "priority"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
        sa.CheckConstraint("attempts >= 0 AND max_retries >= 0", name="attempts_positive"),
        sa.Index("ix_jobs_tenant_id_created_at", "tenant_id", "created_at"),
        sa.Index(
            "ix_jobs_outbox",
            "created_at",
            postgresql_where=sa.text("sent_at IS NULL AND status = 'pending'"),
        ),
        # children by parent (top-level jobs are not in it: no plan can read
        # every top-level job through it)
        sa.Index(
            "ix_jobs_children", "parent_id", postgresql_where=sa.text("parent_id IS NOT NULL")
        ),
        sa.Index("ix_jobs_document_id", "document_id"),
        # a document has at most one active top-level job (every process
        # request looks it up, and queues with ON CONFLICT on it)
        sa.Index(
            "uq_jobs_active_top_level",
            "document_id",
            unique=True,
            postgresql_where=sa.text(ACTIVE_TOP_LEVEL),
        ),
        sa.Index("ix_jobs_status_lease_expires_at", "status", "lease_expires_at"),
    )

    id: Mapped[uuid.UUID] = _id()
    tenant_id: Mapped[uuid.UUID | None] = _tenant_fk(nullable=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="SET NULL")
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("jobs.id", ondelete="CASCADE")
    )
    actor_name: Mapped[str] = mapped_column(sa.Text)
    queue_name: Mapped[str] = mapped_column(sa.Text)
    priority: Mapped[str] = mapped_column(sa.String(16), server_default="normal")
    status: Mapped[JobStatus] = mapped_column(
        _enum(JobStatus), server_default=JobStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(server_default="0")
    max_retries: Mapped[int] = mapped_column(server_default="3")
    message: Mapped[dict[str, Any] | None]
    message_id: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None]
    eta: Mapped[datetime | None]
    stage: Mapped[str | None] = mapped_column(sa.Text)
    progress: Mapped[int] = mapped_column(sa.SmallInteger, server_default="0")
    units_done: Mapped[int] = mapped_column(server_default="0")
    units_total: Mapped[int | None]
    error_type: Mapped[str | None] = mapped_column(sa.Text)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    cause: Mapped[FailureCause | None] = mapped_column(_enum(FailureCause))
    result: Mapped[dict[str, Any] | None]
    worker: Mapped[str | None] = mapped_column(sa.Text)
    lease_expires_at: Mapped[datetime | None]
    cancel_requested_at: Mapped[datetime | None]
    children_total: Mapped[int] = mapped_column(server_default="0")
    children_done: Mapped[int] = mapped_column(server_default="0")
    completion_sent_at: Mapped[datetime | None]
    #: The message (as the outbox stores it) sent once all children finish.
    on_complete: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = _created_at()
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = _updated_at()


class JobEvent(Base):
    """One event in a job's history (state change, progress, ...), in order
    of ``id``; the SSE stream replays from an event id."""

    __tablename__ = "job_events"
    __table_args__ = (
        _check_in("status", [s.value for s in JobStatus], "status"),
        sa.Index("ix_job_events_job_id_id", "job_id", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    kind: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[JobStatus | None] = mapped_column(_enum(JobStatus))
    data: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=sa.text("'{}'::jsonb")
    )


class Page(Base):
    """The text of one page of a document (``page_no`` counts from 1).

    ``method``: from the text layer or OCR; for OCR, ``ocr_confidence``
    (mean word confidence, 0-100), ``ocr_languages`` (Tesseract's, e.g.
    ``eng+por``), ``dpi``; ``duration_ms`` the time it took.
    """

    __tablename__ = "pages"
    __table_args__ = (
        _check_in("method", [m.value for m in PageMethod], "method"),
        sa.UniqueConstraint("document_id", "page_no"),
        sa.CheckConstraint("page_no >= 1", name="page_no_positive"),
    )

    id: Mapped[uuid.UUID] = _id()
    document_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="CASCADE")
    )
    page_no: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text)
    method: Mapped[PageMethod] = mapped_column(_enum(PageMethod))
    ocr_confidence: Mapped[float | None] = mapped_column(sa.Double)
    ocr_languages: Mapped[str | None] = mapped_column(sa.Text)
    dpi: Mapped[int | None]
    duration_ms: Mapped[int | None]
    pipeline_version: Mapped[str] = mapped_column(sa.Text)
    low_confidence: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = _created_at()


class Chunk(Base):
    """A searchable piece of a document: its text, where it came from
    (pages, character offsets), its embedding and its full-text vector.

    ``embedding``: ``vector(384)`` (``None`` until embedded), searched by
    cosine distance through the HNSW index ``ix_chunks_embedding_hnsw``.
    Read back as ``list[float]`` (a numpy array when numpy is installed).
    ``tsv``: generated by PostgreSQL from ``text`` with the
    :data:`TEXT_SEARCH_CONFIG` configuration; never written. ``tenant_id``
    is copied from the document so search filters without a join.
    """

    __tablename__ = "chunks"
    __table_args__ = (
        sa.UniqueConstraint("document_id", "chunk_index"),
        sa.Index(
            "ix_chunks_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        sa.Index("ix_chunks_tsv", "tsv", postgresql_using="gin"),
        sa.Index("ix_chunks_tenant_id", "tenant_id"),
    )

    id: Mapped[uuid.UUID] = _id()
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    document_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="CASCADE")
    )
    chunk_index: Mapped[int]
    page_start: Mapped[int]
    page_end: Mapped[int]
    char_start: Mapped[int]
    char_end: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text)
    token_count: Mapped[int]
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSIONS), nullable=True)
    tsv: Mapped[Any] = mapped_column(
        TSVECTOR,
        sa.Computed(f"to_tsvector('{TEXT_SEARCH_CONFIG}'::regconfig, text)", persisted=True),
        nullable=True,
    )
    model_version: Mapped[str | None] = mapped_column(sa.Text)
    pipeline_version: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = _created_at()


class AuditLog(Base):
    """Who did what to which resource (operator actions, key changes, ...).

    ``actor``: the API key's id or name, or ``cli``; ``target``: the
    resource, e.g. ``tenant:<id>``; ``details``: anything else.
    """

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    actor: Mapped[str] = mapped_column(sa.Text)
    action: Mapped[str] = mapped_column(sa.Text)
    target: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=sa.text("'{}'::jsonb")
    )
