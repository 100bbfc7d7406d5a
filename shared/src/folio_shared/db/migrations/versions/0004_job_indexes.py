"""Jobs: at most one active top-level job per document, enforced; indexes
that only hold what their queries look for.

The API, retries and re-drives each check that a document has no active
(``pending``, ``queued``, ``running``) top-level job before making one; the
unique index makes the database refuse a second one whatever the path, and
lets ``POST /v1/documents/{id}/process`` queue a document in one statement
(``INSERT ... ON CONFLICT DO NOTHING``: of two racing requests, the second
finds the first's job). It replaces ``ix_jobs_active_top_level``: the same
rows, and the lookup's ``ORDER BY created_at`` has one row to sort.

Two indexes change so that no query plan can read every top-level or
every active job where it meant one document's (a plan PostgreSQL made,
without statistics, for the API's lookup of a document's active job):
``ix_jobs_parent_id`` keeps only child jobs (``parent_id IS NOT NULL``: its
queries look children up by parent), and ``ix_jobs_status`` goes
(``ix_jobs_status_lease_expires_at`` starts with the status). Both also
make writing a job cheaper: a top-level job no longer enters either.

A database that already holds several active top-level jobs of a document
(only a bug could have made them) keeps the newest; the others are
cancelled, with the reason in their error.

Built concurrently: writes to ``jobs`` go on during the upgrade. A build
that failed (a duplicate made meanwhile by a process still running the old
code) leaves an invalid index, dropped and built again by the next upgrade.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# as folio_shared.db.models.ACTIVE_TOP_LEVEL ("not finished": no status
# index can serve it, so the lookup goes through this unique index)
ACTIVE = "parent_id IS NULL AND status NOT IN ('succeeded', 'failed', 'dead', 'cancelled')"

_CANCEL_DUPLICATES = f"""
UPDATE jobs SET status = 'cancelled', cause = 'cancelled',
  error_type = 'DuplicateActiveJob',
  error_message = 'cancelled by migration 0004: another active job of the document is newer',
  finished_at = now(), updated_at = now()
WHERE id IN (
  SELECT id FROM (
    SELECT id, row_number() OVER (PARTITION BY document_id ORDER BY created_at DESC, id) AS n
    FROM jobs WHERE document_id IS NOT NULL AND {ACTIVE}
  ) ranked WHERE n > 1
)
"""  # noqa: S608 - constant SQL


def _drop_invalid(name: str) -> None:
    invalid = op.get_bind().scalar(
        sa.text(
            "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = :name"
        ),
        {"name": name},
    )
    if invalid:
        op.drop_index(name, table_name="jobs", postgresql_concurrently=True)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(_CANCEL_DUPLICATES)
        _drop_invalid("uq_jobs_active_top_level")
        op.create_index(
            "uq_jobs_active_top_level",
            "jobs",
            ["document_id"],
            unique=True,
            postgresql_where=sa.text(ACTIVE),
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.drop_index(
            "ix_jobs_active_top_level",
            table_name="jobs",
            postgresql_concurrently=True,
            if_exists=True,
        )
        _drop_invalid("ix_jobs_children")
        op.create_index(
            "ix_jobs_children",
            "jobs",
            ["parent_id"],
            postgresql_where=sa.text("parent_id IS NOT NULL"),
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        for name in ("ix_jobs_parent_id", "ix_jobs_status"):
            op.drop_index(name, table_name="jobs", postgresql_concurrently=True, if_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, columns in (("ix_jobs_status", ["status"]), ("ix_jobs_parent_id", ["parent_id"])):
            op.create_index(name, "jobs", columns, postgresql_concurrently=True, if_not_exists=True)
        op.drop_index(
            "ix_jobs_children", table_name="jobs", postgresql_concurrently=True, if_exists=True
        )
        op.create_index(
            "ix_jobs_active_top_level",
            "jobs",
            ["document_id", "created_at"],
            postgresql_where=sa.text(ACTIVE),
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.drop_index(
            "uq_jobs_active_top_level",
            table_name="jobs",
            postgresql_concurrently=True,
            if_exists=True,
        )
