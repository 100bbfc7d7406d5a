"""Chunks: keep ``tsv`` in the row, not in the TOAST table.

Since 0014 the vector (``MAIN``) stays in the row and the text and
``tsv`` (``EXTENDED``) are moved out of line when a row is over
PostgreSQL's 2 kB toast threshold, which a chunk row nearly always is.
Keyword search reads ``tsv`` of every chunk it matches (the index
recheck and the term counts of BM25), so each matched chunk cost a TOAST
index lookup and one or two more page reads: over 100,000 chunks, 1,000
matches read ~8,000 buffers. ``MAIN`` compresses ``tsv`` in the row and
moves only the text out (read for the few hits returned).

Only rows written from now on are laid out this way; ``VACUUM FULL
chunks`` (outside a transaction, locks the table) rewrites older ones.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN tsv SET STORAGE MAIN")


def downgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN tsv SET STORAGE EXTENDED")
