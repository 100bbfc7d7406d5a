"""Job kinds of your own: the kinds workers serve, batches, job metadata,
and what a tenant may submit.

- ``job_kinds``: one row per kind a worker has declared (``audio.analyze``):
  its payload's major version and JSON schema, its result's schema, its
  queue and its limits. Written by a worker when it starts (an upsert), read
  by the API to validate ``POST /v1/jobs`` without importing user code.
- ``job_kind_workers``: which worker serves which kind, with a heartbeat
  (``seen_at``); the API counts the live ones per kind.
- ``batches``: a group of jobs with one status and an optional completion
  job (``on_complete``: the outbox envelope) sent exactly once, when the
  last member is finished (``completion_job_id`` is set in the same
  transaction that counts that member).
- ``jobs.metadata``: the client's labels on a job (``GET
  /v1/jobs?metadata.key=value``); ``jobs.batch_id``: the batch a job
  belongs to.
- ``tenants.allowed_kinds`` (``NULL``: every kind) and
  ``tenants.max_priority`` (``NULL``: any priority): what a tenant may
  submit.

New tables and nullable columns without defaults: no table rewrite.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "job_kinds",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("payload_schema", JSONB(), nullable=False),
        sa.Column("result_schema", JSONB(), nullable=True),
        sa.Column("options", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("version > 0", name=op.f("ck_job_kinds_version_positive")),
    )
    op.create_table(
        "job_kind_workers",
        sa.Column(
            "kind",
            sa.Text(),
            sa.ForeignKey("job_kinds.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("worker", sa.Text(), primary_key=True),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_job_kind_workers_seen_at", "job_kind_workers", ["seen_at"])
    op.create_table(
        "batches",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column(
            "tenant_id",
            sa.Uuid(),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("finished", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("on_complete", JSONB(), nullable=True),
        sa.Column("completion_job_id", sa.Uuid(), nullable=True),
        sa.Column("metadata", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "finished >= 0 AND failed >= 0 AND finished <= total AND failed <= finished",
            name=op.f("ck_batches_counts"),
        ),
    )
    op.create_index("ix_batches_tenant_id_created_at", "batches", ["tenant_id", "created_at"])
    op.add_column("jobs", sa.Column("metadata", JSONB(), nullable=True))
    op.add_column(
        "jobs",
        sa.Column(
            "batch_id",
            sa.Uuid(),
            sa.ForeignKey("batches.id", ondelete="SET NULL", name=op.f("fk_jobs_batch_id_batches")),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_jobs_batch_id", "jobs", ["batch_id"], postgresql_where=sa.text("batch_id IS NOT NULL")
    )
    op.create_index(
        "ix_jobs_tenant_id_actor_name_created_at", "jobs", ["tenant_id", "actor_name", "created_at"]
    )
    op.add_column("tenants", sa.Column("allowed_kinds", ARRAY(sa.Text()), nullable=True))
    op.add_column("tenants", sa.Column("max_priority", sa.String(16), nullable=True))
    op.create_check_constraint(
        op.f("ck_tenants_max_priority"),
        "tenants",
        "max_priority IN ('low', 'normal', 'high', 'critical')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_tenants_max_priority"), "tenants", type_="check")
    op.drop_column("tenants", "max_priority")
    op.drop_column("tenants", "allowed_kinds")
    op.drop_index("ix_jobs_tenant_id_actor_name_created_at", table_name="jobs")
    op.drop_index("ix_jobs_batch_id", table_name="jobs")
    op.drop_column("jobs", "batch_id")
    op.drop_column("jobs", "metadata")
    op.drop_index("ix_batches_tenant_id_created_at", table_name="batches")
    op.drop_table("batches")
    op.drop_index("ix_job_kind_workers_seen_at", table_name="job_kind_workers")
    op.drop_table("job_kind_workers")
    op.drop_table("job_kinds")
