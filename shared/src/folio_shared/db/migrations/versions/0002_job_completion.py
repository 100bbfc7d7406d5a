"""Jobs: the completion message a parent sends once all its children finish.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("on_complete", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "on_complete")
