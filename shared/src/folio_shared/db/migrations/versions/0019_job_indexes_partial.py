"""Jobs: two indexes keep only the rows their queries look for, so a job's
claim and outcome write fewer index entries.

``status`` is indexed, so an ``UPDATE`` of a job's status is never a
heap-only update: it adds an entry to every index of ``jobs`` whose
predicate holds for the new row version. A tracked job is updated at
least twice (its claim and its outcome), so each index is paid twice per
job. Two of them held rows no query reads through them:

- ``ix_jobs_document_id`` held every job, with a ``NULL`` key for the
  jobs of no document (job kinds, no-op and scheduled jobs); its queries
  (a document's jobs, ``ON DELETE SET NULL`` from ``documents``) look up
  one document, so it now holds ``document_id IS NOT NULL`` only;
- ``ix_jobs_status_lease_expires_at`` held succeeded jobs, the bulk of
  the table, where a lookup by status (the purge's, the API's filter)
  matches most rows and gains nothing from an index; its other queries
  look for running jobs with an expired lease, queued, pending, failed
  and dead ones, so it now holds ``status <> 'succeeded'``, and a success
  no longer enters it.

A job without a document now writes two index entries fewer when it
succeeds and one fewer when it is claimed.

Built concurrently (writes to ``jobs`` go on during the upgrade) under a
temporary name, then the old index is dropped and the new one takes its
name; an invalid index left by a failed build is dropped and built again
by the next upgrade.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None

#: index -> (columns, predicate)
_PARTIAL = {
    "ix_jobs_document_id": (["document_id"], "document_id IS NOT NULL"),
    "ix_jobs_status_lease_expires_at": (["status", "lease_expires_at"], "status <> 'succeeded'"),
}


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


def _replace(name: str, columns: list[str], predicate: str | None) -> None:
    """Build ``name`` anew (under a temporary name, then renamed) with
    ``predicate``, and drop the old one; the table stays indexed meanwhile."""
    building = f"{name}_new"
    _drop_invalid(building)
    op.create_index(
        building,
        "jobs",
        columns,
        postgresql_where=sa.text(predicate) if predicate else None,
        postgresql_concurrently=True,
        if_not_exists=True,
    )
    op.drop_index(name, table_name="jobs", postgresql_concurrently=True, if_exists=True)
    op.execute(f"ALTER INDEX {building} RENAME TO {name}")


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, (columns, predicate) in _PARTIAL.items():
            _replace(name, columns, predicate)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, (columns, _) in _PARTIAL.items():
            _replace(name, columns, None)
