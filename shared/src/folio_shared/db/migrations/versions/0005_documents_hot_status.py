"""Documents: a status change is a HOT update.

PostgreSQL can update a row in place on its page, without a new entry in
every index of the table (a *heap-only tuple*, HOT), only when no column
that an index uses, in its keys or in its predicate, changes. The duplicate
index ``uq_documents_tenant_id_sha256`` had ``status`` in its predicate
(``status NOT IN ('awaiting_upload', 'deleted')``), so every status change
of a document (queued, processing, ready, ...) wrote a new entry in each of
its four indexes, and left the old ones for vacuum.

The index now covers ``dedupe_sha256``, a stored generated column: the
``sha256`` of a document that holds bytes and is not deleted, else
``NULL``. The same documents are unique per tenant as before, but a status
change that leaves that value as it was (every change but entering or
leaving ``awaiting_upload`` or ``deleted``) changes no indexed column. And
``fillfactor = 80`` leaves room on each page for the new version of a row
(new pages only: those written before fill up as rows move).

In the benchmark of ``POST /v1/documents/{id}/process`` this cut
PostgreSQL's CPU per queued document by ~5.5 % (docs/benchmarks-log.md).

Adding a stored generated column rewrites ``documents``, under a lock that
blocks its reads and writes while it runs (a few seconds per million rows).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

#: as folio_shared.db.models.DEDUPE_SHA256
DEDUPE_SHA256 = "CASE WHEN status IN ('awaiting_upload', 'deleted') THEN NULL ELSE sha256 END"


def _duplicate_index(column: str, where: str) -> None:
    op.create_index(
        "uq_documents_tenant_id_sha256",
        "documents",
        ["tenant_id", column],
        unique=True,
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    op.add_column(
        "documents",
        sa.Column("dedupe_sha256", sa.String(64), sa.Computed(DEDUPE_SHA256, persisted=True)),
    )
    op.drop_index("uq_documents_tenant_id_sha256", table_name="documents")
    _duplicate_index("dedupe_sha256", "dedupe_sha256 IS NOT NULL")
    op.execute("ALTER TABLE documents SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE documents RESET (fillfactor)")
    op.drop_index("uq_documents_tenant_id_sha256", table_name="documents")
    _duplicate_index("sha256", "status NOT IN ('awaiting_upload', 'deleted')")
    op.drop_column("documents", "dedupe_sha256")
