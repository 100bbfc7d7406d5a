"""A vocabulary per tenant and model: the words of the tenant's documents,
each with its vector by the embedding model of the documents that hold it.

``vocabulary_words``: (tenant, model version, word) -> the word embedded
alone, as a query is (``vector(384)``). Keyword search adds to a query the
tenant's words nearest the query's vector (``folio_api.domain.search.vocabulary``).
``vocabulary_sources``: one row per document whose words are in the
vocabulary, keyed by the document's first chunk (``chunk_index`` 0) and
deleted with it, so a document processed again (its chunks replaced) is
collected again; ``model_version`` is the chunks' model when its words were
collected, so a model switch collects them again for the new model
(``folio_worker_docs.vocabulary``). Both behind the tenant wall like
``chunks``.

``ix_chunks_first`` holds one entry per document (its first chunk), which
the collection walks to find the documents not collected yet.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision: str | None = "0020"
branch_labels: str | None = None
depends_on: str | None = None

_WALL = (
    "CREATE POLICY tenant_wall ON {table}"
    " USING (folio_tenant_visible(tenant_id))"
    " WITH CHECK (folio_tenant_visible(tenant_id))"
)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE vocabulary_words (
            tenant_id uuid NOT NULL,
            model_version text NOT NULL,
            word text NOT NULL,
            embedding vector(384) NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_vocabulary_words PRIMARY KEY (tenant_id, model_version, word),
            CONSTRAINT fk_vocabulary_words_tenant_id_tenants FOREIGN KEY (tenant_id)
                REFERENCES tenants (id) ON DELETE CASCADE
        )
        """
    )
    op.execute(
        """
        CREATE TABLE vocabulary_sources (
            chunk_id uuid NOT NULL,
            tenant_id uuid NOT NULL,
            model_version text NOT NULL,
            words integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_vocabulary_sources PRIMARY KEY (chunk_id),
            CONSTRAINT fk_vocabulary_sources_chunk_id_chunks FOREIGN KEY (chunk_id)
                REFERENCES chunks (id) ON DELETE CASCADE,
            CONSTRAINT fk_vocabulary_sources_tenant_id_tenants FOREIGN KEY (tenant_id)
                REFERENCES tenants (id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX ix_vocabulary_sources_tenant_id ON vocabulary_sources (tenant_id)")
    for table in ("vocabulary_words", "vocabulary_sources"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(_WALL.format(table=table))
    op.execute("CREATE INDEX ix_chunks_first ON chunks (tenant_id) WHERE chunk_index = 0")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_chunks_first")
    op.execute("DROP TABLE IF EXISTS vocabulary_sources")
    op.execute("DROP TABLE IF EXISTS vocabulary_words")
