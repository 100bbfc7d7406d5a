"""Chunks: keyword search in the document's language, accents folded.

``chunks.language`` holds the language detected when the document was
chunked (``en``, ``pt`` or ``NULL``), and ``chunks.tsv`` is generated from
the text with accents folded (core ``translate()``: pgserver's PostgreSQL
has no ``unaccent`` extension) in that language's configuration
(``english`` or ``portuguese``: stemming and stop words; ``simple`` when
unknown). Only core PostgreSQL is used, so pgserver and a stock server
both run it.

Replacing the generated column rewrites ``chunks`` and rebuilds its GIN
index, under a lock that blocks the table's reads and writes while it
runs. Existing chunks get ``language`` ``NULL`` (``simple``, accents now
folded) until their document is processed again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

#: as folio_shared.db.models.CHUNK_TSV_SQL
CHUNK_TSV = (
    "to_tsvector(CASE language WHEN 'en' THEN 'english'::regconfig "
    "WHEN 'pt' THEN 'portuguese'::regconfig ELSE 'simple'::regconfig END, "
    "translate(text, 'áàâãäåéèêëíìîïóòôõöúùûüçñýÿÁÀÂÃÄÅÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑÝ', "
    "'aaaaaaeeeeiiiiooooouuuucnyyAAAAAAEEEEIIIIOOOOOUUUUCNY'))"
)
OLD_TSV = "to_tsvector('simple'::regconfig, text)"


def _tsv(expression: str) -> None:
    op.drop_index("ix_chunks_tsv", table_name="chunks")
    op.drop_column("chunks", "tsv")
    op.add_column(
        "chunks",
        sa.Column(
            "tsv", postgresql.TSVECTOR(), sa.Computed(expression, persisted=True), nullable=True
        ),
    )
    op.create_index("ix_chunks_tsv", "chunks", ["tsv"], postgresql_using="gin")


def upgrade() -> None:
    op.add_column("chunks", sa.Column("language", sa.Text(), nullable=True))
    _tsv(CHUNK_TSV)


def downgrade() -> None:
    _tsv(OLD_TSV)
    op.drop_column("chunks", "language")
