"""Chunks: ``model_version`` always stays in the row (storage ``PLAIN``).

A chunk's row holds its text, its ``tsv`` and its vector, often more than
the 2 kB PostgreSQL aims a row at; the toaster then compresses or moves
out of the row every column of ``EXTENDED`` storage larger than a TOAST
pointer, largest first, down to ``model_version`` (the model's name and
revision, ~50 bytes). Search filters every candidate chunk by
``model_version`` (``LIKE 'model@%'``), so a tenant searched exactly read
a TOAST page for each chunk: 16,637 buffers for 5,000 chunks of 2.5 kB,
against 1,667 with the column kept in the row. ``PLAIN`` only takes the
last, smallest column out of the toaster's reach: the larger columns are
treated as before.

``SET STORAGE`` changes no stored row: chunks written before keep their
out-of-row value until they are written again (re-processed, re-embedded;
``VACUUM FULL chunks``, outside a transaction and locking the table,
rewrites them all), as with 0014 and 0016.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN model_version SET STORAGE PLAIN")


def downgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN model_version SET STORAGE EXTENDED")
