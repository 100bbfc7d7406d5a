"""Jobs: an index for "the document's active top-level job".

Every ``process`` request looks that job up. Without an index of its own
the planner combined ``ix_jobs_document_id`` with ``ix_jobs_parent_id``
(every top-level job) and read thousands of index entries per lookup. The
partial index holds only active top-level jobs, in the lookup's order.
Built concurrently: writes to ``jobs`` go on during the upgrade.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

ACTIVE = "parent_id IS NULL AND status IN ('pending', 'queued', 'running')"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_jobs_active_top_level",
            "jobs",
            ["document_id", "created_at"],
            postgresql_where=sa.text(ACTIVE),
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_jobs_active_top_level",
            table_name="jobs",
            postgresql_concurrently=True,
            if_exists=True,
        )
