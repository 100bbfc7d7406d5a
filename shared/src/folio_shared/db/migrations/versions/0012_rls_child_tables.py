"""Row-level security on ``pages`` and ``job_events``, through their parent.

Neither table has a ``tenant_id``: a page belongs to a document, an event
to a job. Their policy ``tenant_wall`` shows (and lets a transaction write)
a row only when its parent row is visible — the parent's own
``tenant_wall`` (migration 0011) decides, so a transaction scoped to a
tenant sees that tenant's pages and events and nothing else. In the
services' own scope (``folio.scope = 'system'``: workers, operators) the
first test is already true, so the parent is never looked up on the
workers' hot path (their page and event writes); in a tenant's scope the
look-up is one primary-key probe per row (bench/rls_overhead.py).

A policy through the parent rather than a copied ``tenant_id`` column: no
backfill of the two largest tables and no column that could disagree with
its parent.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

#: child table -> (its parent's table, the column naming the parent row)
CHILD_TABLES = {"pages": ("documents", "document_id"), "job_events": ("jobs", "job_id")}


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION folio_system_scope() RETURNS boolean
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
          SELECT coalesce(current_setting('folio.scope', true), '') = 'system'
        $$
        """
    )
    for table, (parent, column) in CHILD_TABLES.items():
        parent_visible = f"EXISTS (SELECT 1 FROM {parent} p WHERE p.id = {table}.{column})"  # noqa: S608
        visible = f"folio_system_scope() OR {parent_visible}"
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_wall ON {table} USING ({visible}) WITH CHECK ({visible})")


def downgrade() -> None:
    for table in CHILD_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_wall ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION IF EXISTS folio_system_scope()")
