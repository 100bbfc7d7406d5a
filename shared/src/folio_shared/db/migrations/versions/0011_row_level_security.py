"""Row-level security on tenant tables: a second wall behind the queries'
own ``tenant_id`` filters.

- Role ``folio_app`` (``NOLOGIN``, ``NOBYPASSRLS``, not the tables' owner):
  the role Folio's services act as (``folio_shared.db.tenancy``), with
  the data rights they need and nothing else (no DDL). Created here when
  the migrating role may create roles; otherwise an administrator creates
  it (``CREATE ROLE folio_app NOLOGIN``) and runs the migration again, and
  services keep their login role until then.
- ``folio_tenant_visible(tenant_id)``: true in a transaction scoped to
  that tenant (``folio.scope = 'tenant'``, ``folio.tenant_id``) and in the
  services' own scope (``folio.scope = 'system'``: workers, the scheduler,
  operators, batched writes); false otherwise, so a session that says
  nothing sees nothing.
- ``documents``, ``chunks``, ``document_fields`` and ``jobs``: RLS enabled,
  one policy ``tenant_wall`` (reads and writes). Not forced: the owner
  (migrations, administrators) is not subject to it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

#: Tables under the wall (each has ``tenant_id``).
TENANT_TABLES = ("documents", "chunks", "document_fields", "jobs")


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'folio_app') THEN
            BEGIN
              CREATE ROLE folio_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
            EXCEPTION WHEN insufficient_privilege THEN
              RAISE NOTICE 'folio_app not created (no CREATEROLE): create it and migrate again';
            END;
          END IF;
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'folio_app') THEN
            GRANT USAGE ON SCHEMA public TO folio_app;
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO folio_app;
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO folio_app;
            ALTER DEFAULT PRIVILEGES IN SCHEMA public
              GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO folio_app;
            ALTER DEFAULT PRIVILEGES IN SCHEMA public
              GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO folio_app;
            BEGIN
              EXECUTE format('GRANT folio_app TO %I', current_user);
            EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
              RAISE NOTICE 'grant folio_app to the services'' login role yourself';
            END;
          END IF;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION folio_tenant_visible(row_tenant uuid) RETURNS boolean
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
          SELECT coalesce(current_setting('folio.scope', true), '') = 'system'
              OR (coalesce(current_setting('folio.scope', true), '') = 'tenant'
                  AND row_tenant = nullif(current_setting('folio.tenant_id', true), '')::uuid)
        $$
        """
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_wall ON {table}"
            " USING (folio_tenant_visible(tenant_id))"
            " WITH CHECK (folio_tenant_visible(tenant_id))"
        )


def downgrade() -> None:
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_wall ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION IF EXISTS folio_tenant_visible(uuid)")
