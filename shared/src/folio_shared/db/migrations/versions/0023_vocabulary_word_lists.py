"""Vocabulary: each source's word list, and a source outlives its chunk.

A deleted document's words stayed in ``vocabulary_words``: only its
``vocabulary_sources`` row went, with its first chunk. Now:

- ``vocabulary_sources.word_list``: the distinct words the document held
  when collected, so the words no remaining document of the tenant holds
  are a set difference in SQL (``folio_worker_docs.vocabulary.sweep``);
- the row is no longer deleted with its chunk: the chunk's deletion sets
  ``chunk_id`` to ``NULL`` (a *gone* source: the document was deleted,
  processed again or moved to another model), which tells the maintenance
  round which tenant and model to sweep. The key is a new ``id``;
  ``chunk_id`` stays unique.

Rows collected before this revision hold no word list: they are deleted,
so their documents are collected again (their words are in the vocabulary
already: nothing is embedded again, only their text read).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision: str | None = "0022"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("DELETE FROM vocabulary_sources")
    op.execute("ALTER TABLE vocabulary_sources DROP CONSTRAINT pk_vocabulary_sources")
    op.execute(
        "ALTER TABLE vocabulary_sources DROP CONSTRAINT fk_vocabulary_sources_chunk_id_chunks"
    )
    op.execute(
        """
        ALTER TABLE vocabulary_sources
            ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY,
            ADD COLUMN word_list text[] NOT NULL DEFAULT '{}',
            ALTER COLUMN chunk_id DROP NOT NULL,
            ADD CONSTRAINT pk_vocabulary_sources PRIMARY KEY (id),
            ADD CONSTRAINT uq_vocabulary_sources_chunk_id UNIQUE (chunk_id),
            ADD CONSTRAINT fk_vocabulary_sources_chunk_id_chunks FOREIGN KEY (chunk_id)
                REFERENCES chunks (id) ON DELETE SET NULL
        """
    )
    op.execute(
        "CREATE INDEX ix_vocabulary_sources_gone ON vocabulary_sources (tenant_id)"
        " WHERE chunk_id IS NULL"
    )


def downgrade() -> None:
    op.execute("DELETE FROM vocabulary_sources WHERE chunk_id IS NULL")
    op.execute("DROP INDEX IF EXISTS ix_vocabulary_sources_gone")
    op.execute(
        """
        ALTER TABLE vocabulary_sources
            DROP CONSTRAINT fk_vocabulary_sources_chunk_id_chunks,
            DROP CONSTRAINT uq_vocabulary_sources_chunk_id,
            DROP CONSTRAINT pk_vocabulary_sources,
            DROP COLUMN id,
            DROP COLUMN word_list,
            ALTER COLUMN chunk_id SET NOT NULL,
            ADD CONSTRAINT pk_vocabulary_sources PRIMARY KEY (chunk_id),
            ADD CONSTRAINT fk_vocabulary_sources_chunk_id_chunks FOREIGN KEY (chunk_id)
                REFERENCES chunks (id) ON DELETE CASCADE
        """
    )
