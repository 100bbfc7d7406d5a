"""Documents' centroid vectors, one per (document, model), kept by the
database itself.

Search scores a multilingual-e5-small document by its best chunk and by
the cosine of the query with the mean of its chunk vectors
(``folio_api.domain.search.semantic``). Averaged at query time, that mean
read every chunk of every candidate document and roughly doubled a
Portuguese query's statement; stored here, it is one row per candidate.

``document_centroids`` holds, per document and model name (its chunks'
``model_version`` up to the ``@``), ``avg(embedding)`` over the
document's chunks of that model: the same aggregate, computed the same
way, as the query computed. Statement-level triggers on ``chunks``
recompute the centroids of the documents a statement touched (inserted,
deleted, or updated: the chunk store's replace, a re-embedding switch's
move), in the same transaction, so every writer keeps them right and a
reader never sees a centroid of other vectors than the chunks'. Behind the
tenant wall like ``chunks``. Existing documents are filled in.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None

#: chunks trigger -> (event, transition table clause)
_TRIGGERS = {
    "chunks_centroids_insert": ("INSERT", "NEW TABLE AS changed_chunks"),
    "chunks_centroids_update": ("UPDATE", "NEW TABLE AS changed_chunks"),
    "chunks_centroids_delete": ("DELETE", "OLD TABLE AS changed_chunks"),
}


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE document_centroids (
            document_id uuid NOT NULL,
            model text NOT NULL,
            tenant_id uuid NOT NULL,
            centroid vector(384) NOT NULL,
            chunk_count integer NOT NULL,
            CONSTRAINT pk_document_centroids PRIMARY KEY (document_id, model),
            CONSTRAINT fk_document_centroids_document_id_documents FOREIGN KEY (document_id)
                REFERENCES documents (id) ON DELETE CASCADE,
            CONSTRAINT fk_document_centroids_tenant_id_tenants FOREIGN KEY (tenant_id)
                REFERENCES tenants (id) ON DELETE CASCADE
        )
        """
    )
    op.execute("ALTER TABLE document_centroids ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_wall ON document_centroids"
        " USING (folio_tenant_visible(tenant_id))"
        " WITH CHECK (folio_tenant_visible(tenant_id))"
    )
    op.execute(
        """
        CREATE FUNCTION folio_refresh_centroids(ids uuid[]) RETURNS void
        LANGUAGE sql AS $$
          DELETE FROM document_centroids WHERE document_id = ANY(ids);
          INSERT INTO document_centroids (document_id, model, tenant_id, centroid, chunk_count)
          SELECT document_id, split_part(model_version, '@', 1), tenant_id, avg(embedding),
                 count(*)
          FROM chunks
          WHERE document_id = ANY(ids) AND embedding IS NOT NULL AND model_version LIKE '%@%'
          GROUP BY document_id, split_part(model_version, '@', 1), tenant_id;
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION folio_chunks_centroids() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM folio_refresh_centroids(ARRAY(SELECT DISTINCT document_id FROM changed_chunks));
          RETURN NULL;
        END
        $$
        """
    )
    for name, (event, table) in _TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON chunks REFERENCING {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION folio_chunks_centroids()"
        )
    op.execute("SELECT folio_refresh_centroids(ARRAY(SELECT DISTINCT document_id FROM chunks))")


def downgrade() -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON chunks")
    op.execute("DROP FUNCTION IF EXISTS folio_chunks_centroids()")
    op.execute("DROP FUNCTION IF EXISTS folio_refresh_centroids(uuid[])")
    op.execute("DROP TABLE IF EXISTS document_centroids")
