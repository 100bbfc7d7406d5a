"""Initial schema: tenants, API keys, documents, jobs, job events, pages,
chunks (pgvector HNSW + full text), audit log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Hand-written. Value lists in CHECK constraints are literals on purpose: a
migration must not change when the Python enums change later. CHECK names
are wrapped in ``op.f()`` (final): otherwise the models' naming convention,
which Alembic applies here too, would prefix them a second time.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TZ = sa.DateTime(timezone=True)
_NOW = sa.text("now()")
_UUID_DEFAULT = sa.text("gen_random_uuid()")
_EMPTY_JSON = sa.text("'{}'::jsonb")

_JOB_STATUSES = "'pending', 'queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled'"
_DOCUMENT_STATUSES = (
    "'awaiting_upload', 'uploaded', 'queued', 'processing', 'ready', 'failed', 'partial', 'deleted'"
)
_DOCUMENT_KINDS = "'pdf', 'png', 'jpeg', 'tiff', 'webp', 'text', 'markdown', 'html', 'docx'"


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Uuid(), server_default=_UUID_DEFAULT, nullable=False)


def _created_at() -> sa.Column[Any]:
    return sa.Column("created_at", _TZ, server_default=_NOW, nullable=False)


def _updated_at() -> sa.Column[Any]:
    return sa.Column("updated_at", _TZ, server_default=_NOW, nullable=False)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")

    op.create_table(
        "tenants",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("document_retention_days", sa.Integer(), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("name", name="uq_tenants_name"),
        sa.CheckConstraint(
            "document_retention_days > 0", name=op.f("ck_tenants_retention_positive")
        ),
    )

    op.create_table(
        "api_keys",
        _id(),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        _created_at(),
        sa.Column("last_used_at", _TZ, nullable=True),
        sa.Column("revoked_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_api_keys_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
        sa.CheckConstraint("kind IN ('tenant', 'operator')", name=op.f("ck_api_keys_kind")),
        sa.CheckConstraint(
            "(kind = 'tenant') = (tenant_id IS NOT NULL)", name=op.f("ck_api_keys_kind_tenant")
        ),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])

    op.create_table(
        "documents",
        _id(),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("storage_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), server_default="awaiting_upload", nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(), server_default=_EMPTY_JSON, nullable=False),
        sa.Column(
            "low_confidence_pages",
            postgresql.ARRAY(sa.Integer()),
            server_default=sa.text("'{}'::integer[]"),
            nullable=False,
        ),
        _created_at(),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_documents_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("storage_key", name="uq_documents_storage_key"),
        sa.CheckConstraint(f"kind IN ({_DOCUMENT_KINDS})", name=op.f("ck_documents_kind")),
        sa.CheckConstraint(f"status IN ({_DOCUMENT_STATUSES})", name=op.f("ck_documents_status")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_documents_size_bytes_positive")),
    )
    op.create_index(
        "uq_documents_tenant_id_sha256",
        "documents",
        ["tenant_id", "sha256"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('awaiting_upload', 'deleted')"),
    )
    op.create_index("ix_documents_tenant_id_created_at", "documents", ["tenant_id", "created_at"])

    op.create_table(
        "jobs",
        _id(),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.Text(), nullable=False),
        sa.Column("queue_name", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(16), server_default="normal", nullable=False),
        sa.Column("status", sa.String(32), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_retries", sa.Integer(), server_default="3", nullable=False),
        sa.Column("message", postgresql.JSONB(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("sent_at", _TZ, nullable=True),
        sa.Column("eta", _TZ, nullable=True),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("progress", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("units_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("units_total", sa.Integer(), nullable=True),
        sa.Column("error_type", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("cause", sa.String(32), nullable=True),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("worker", sa.Text(), nullable=True),
        sa.Column("lease_expires_at", _TZ, nullable=True),
        sa.Column("cancel_requested_at", _TZ, nullable=True),
        sa.Column("children_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("children_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completion_sent_at", _TZ, nullable=True),
        _created_at(),
        sa.Column("queued_at", _TZ, nullable=True),
        sa.Column("started_at", _TZ, nullable=True),
        sa.Column("finished_at", _TZ, nullable=True),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_jobs_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="fk_jobs_document_id_documents",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["jobs.id"], name="fk_jobs_parent_id_jobs", ondelete="CASCADE"
        ),
        sa.CheckConstraint(f"status IN ({_JOB_STATUSES})", name=op.f("ck_jobs_status")),
        sa.CheckConstraint(
            "cause IN ('error', 'timeout', 'crash', 'cancelled', 'poison')",
            name=op.f("ck_jobs_cause"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'critical')", name=op.f("ck_jobs_priority")
        ),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_jobs_progress_percent")),
        sa.CheckConstraint(
            "attempts >= 0 AND max_retries >= 0", name=op.f("ck_jobs_attempts_positive")
        ),
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_tenant_id_created_at", "jobs", ["tenant_id", "created_at"])
    op.create_index(
        "ix_jobs_outbox",
        "jobs",
        ["created_at"],
        postgresql_where=sa.text("sent_at IS NULL AND status = 'pending'"),
    )
    op.create_index("ix_jobs_parent_id", "jobs", ["parent_id"])
    op.create_index("ix_jobs_document_id", "jobs", ["document_id"])
    op.create_index("ix_jobs_status_lease_expires_at", "jobs", ["status", "lease_expires_at"])

    op.create_table(
        "job_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("at", _TZ, server_default=_NOW, nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("data", postgresql.JSONB(), server_default=_EMPTY_JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job_events"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_events_job_id_jobs", ondelete="CASCADE"
        ),
        sa.CheckConstraint(f"status IN ({_JOB_STATUSES})", name=op.f("ck_job_events_status")),
    )
    op.create_index("ix_job_events_job_id_id", "job_events", ["job_id", "id"])

    op.create_table(
        "pages",
        _id(),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("page_no", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("ocr_confidence", sa.Double(), nullable=True),
        sa.Column("ocr_languages", sa.Text(), nullable=True),
        sa.Column("dpi", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("pipeline_version", sa.Text(), nullable=False),
        sa.Column("low_confidence", sa.Boolean(), server_default=sa.false(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_pages"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="fk_pages_document_id_documents",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("document_id", "page_no", name="uq_pages_document_id_page_no"),
        sa.CheckConstraint("method IN ('text', 'ocr')", name=op.f("ck_pages_method")),
        sa.CheckConstraint("page_no >= 1", name=op.f("ck_pages_page_no_positive")),
    )

    op.create_table(
        "chunks",
        _id(),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("chunk_index", sa.Integer(), nullable=False),
        sa.Column("page_start", sa.Integer(), nullable=False),
        sa.Column("page_end", sa.Integer(), nullable=False),
        sa.Column("char_start", sa.Integer(), nullable=False),
        sa.Column("char_end", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.Column("embedding", Vector(384), nullable=True),
        sa.Column(
            "tsv",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('simple'::regconfig, text)", persisted=True),
            nullable=True,
        ),
        sa.Column("model_version", sa.Text(), nullable=True),
        sa.Column("pipeline_version", sa.Text(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_chunks"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_chunks_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="fk_chunks_document_id_documents",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("document_id", "chunk_index", name="uq_chunks_document_id_chunk_index"),
    )
    op.create_index(
        "ix_chunks_embedding_hnsw",
        "chunks",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index("ix_chunks_tsv", "chunks", ["tsv"], postgresql_using="gin")
    op.create_index("ix_chunks_tenant_id", "chunks", ["tenant_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", _TZ, server_default=_NOW, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(), server_default=_EMPTY_JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints. Children first.
    for table in ("audit_log", "chunks", "pages", "job_events", "jobs", "documents", "api_keys"):
        op.drop_table(table)
    op.drop_table("tenants")
    # The extension goes too, unless something outside this schema uses it.
    op.execute(
        "DO $$ BEGIN DROP EXTENSION IF EXISTS vector; "
        "EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END $$"
    )
