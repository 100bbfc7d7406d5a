"""Embedding model switches: vectors staged per chunk, and the models a
tenant's chunks use, found in a few index reads.

``staged_embeddings`` holds a chunk's vector by the model its language
should now use (``FOLIO_PIPELINE_EMBEDDING_MODEL``) while the tenant's
switch is under way: re-embedding writes there, not into ``chunks``, so
search keeps ranking the old vectors; once every chunk of the tenant that
needs a new vector has one, a single transaction moves them into
``chunks`` (``folio_worker_docs.reembed``). Behind the tenant wall like
``chunks``.

``ix_chunks_tenant_language_model`` orders a tenant's chunks by language
and model, so search lists the (language, model) pairs a tenant holds
with one index descent per pair, however many chunks it has.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE staged_embeddings (
            chunk_id uuid NOT NULL,
            tenant_id uuid NOT NULL,
            embedding vector(384) NOT NULL,
            model_version text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_staged_embeddings PRIMARY KEY (chunk_id),
            CONSTRAINT fk_staged_embeddings_chunk_id_chunks FOREIGN KEY (chunk_id)
                REFERENCES chunks (id) ON DELETE CASCADE,
            CONSTRAINT fk_staged_embeddings_tenant_id_tenants FOREIGN KEY (tenant_id)
                REFERENCES tenants (id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX ix_staged_embeddings_tenant_id ON staged_embeddings (tenant_id)")
    op.execute("ALTER TABLE staged_embeddings ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_wall ON staged_embeddings"
        " USING (folio_tenant_visible(tenant_id))"
        " WITH CHECK (folio_tenant_visible(tenant_id))"
    )
    op.execute(
        "CREATE INDEX ix_chunks_tenant_language_model ON chunks"
        " (tenant_id, coalesce(language, ''), coalesce(model_version, ''))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_chunks_tenant_language_model")
    op.execute("DROP TABLE IF EXISTS staged_embeddings")
