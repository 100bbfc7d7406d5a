"""The tenant's keyword totals in rows of their own, kept by the database.

BM25 needs the tenant's chunk count, total chunk length and count of
documents with chunks. A search summed them from ``documents``
(``chunk_count > 0``): a scan of the tenant's documents, about 5,000 rows
in a 100,000-chunk tenant, on every keyword or hybrid search.

``tenant_keyword_totals`` holds those sums as deltas: each write adds its
change to the row of its tenant and *slot* (the writing backend's process
id modulo :data:`SLOTS`), and a search sums the tenant's few rows. Slots
keep parallel document writes of one tenant from queueing on one hot row
until each commits. Row-level triggers on ``documents``, fired only when a
row's ``chunk_count``, ``token_count`` or ``tenant_id`` changes (or a row
with chunks is inserted or deleted), write the delta in the same
transaction, so every writer (the chunk store, re-processing, a
re-embedding's switch, deletion) keeps the totals right. A tenant being
deleted takes its rows with it (its documents' deltas are skipped once its
row is gone). Behind the tenant wall like ``documents``. Existing tenants
are filled in from their documents.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision: str | None = "0023"
branch_labels: str | None = None
depends_on: str | None = None

#: rows per tenant that writers spread their deltas over
SLOTS = 16

#: documents trigger -> its event and condition
_TRIGGERS = {
    "documents_keyword_totals_insert": ("INSERT", "NEW.chunk_count > 0"),
    "documents_keyword_totals_update": (
        "UPDATE OF chunk_count, token_count, tenant_id",
        "(OLD.chunk_count > 0 OR NEW.chunk_count > 0) AND ("
        "OLD.chunk_count IS DISTINCT FROM NEW.chunk_count"
        " OR OLD.token_count IS DISTINCT FROM NEW.token_count"
        " OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)",
    ),
    "documents_keyword_totals_delete": ("DELETE", "OLD.chunk_count > 0"),
}


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE tenant_keyword_totals (
            tenant_id uuid NOT NULL,
            slot smallint NOT NULL,
            chunks bigint NOT NULL,
            tokens bigint NOT NULL,
            documents bigint NOT NULL,
            CONSTRAINT pk_tenant_keyword_totals PRIMARY KEY (tenant_id, slot),
            CONSTRAINT fk_tenant_keyword_totals_tenant_id_tenants FOREIGN KEY (tenant_id)
                REFERENCES tenants (id) ON DELETE CASCADE
        )
        """
    )
    op.execute("ALTER TABLE tenant_keyword_totals ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_wall ON tenant_keyword_totals"
        " USING (folio_tenant_visible(tenant_id))"
        " WITH CHECK (folio_tenant_visible(tenant_id))"
    )
    op.execute(
        f"""
        CREATE FUNCTION folio_add_keyword_totals(t uuid, n bigint, tokens bigint, docs bigint)
        RETURNS void LANGUAGE sql AS $$
          INSERT INTO tenant_keyword_totals AS k (tenant_id, slot, chunks, tokens, documents)
          SELECT t, pg_backend_pid() % {SLOTS}, n, tokens, docs
          WHERE EXISTS (SELECT 1 FROM tenants WHERE id = t)
          ON CONFLICT (tenant_id, slot) DO UPDATE
          SET chunks = k.chunks + EXCLUDED.chunks, tokens = k.tokens + EXCLUDED.tokens,
              documents = k.documents + EXCLUDED.documents;
        $$
        """  # noqa: S608 - SLOTS is this module's constant
    )
    op.execute(
        """
        CREATE FUNCTION folio_documents_keyword_totals() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' AND OLD.chunk_count > 0 THEN
            PERFORM folio_add_keyword_totals(
              OLD.tenant_id, -OLD.chunk_count, -OLD.token_count, -1);
          END IF;
          IF TG_OP <> 'DELETE' AND NEW.chunk_count > 0 THEN
            PERFORM folio_add_keyword_totals(NEW.tenant_id, NEW.chunk_count, NEW.token_count, 1);
          END IF;
          RETURN NULL;
        END
        $$
        """
    )
    for name, (event, condition) in _TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON documents FOR EACH ROW"
            f" WHEN ({condition}) EXECUTE FUNCTION folio_documents_keyword_totals()"
        )
    op.execute(
        "INSERT INTO tenant_keyword_totals (tenant_id, slot, chunks, tokens, documents) "
        "SELECT tenant_id, 0, sum(chunk_count), sum(token_count), count(*) "
        "FROM documents WHERE chunk_count > 0 GROUP BY tenant_id"
    )


def downgrade() -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON documents")
    op.execute("DROP FUNCTION IF EXISTS folio_documents_keyword_totals()")
    op.execute("DROP FUNCTION IF EXISTS folio_add_keyword_totals(uuid, bigint, bigint, bigint)")
    op.execute("DROP TABLE IF EXISTS tenant_keyword_totals")
