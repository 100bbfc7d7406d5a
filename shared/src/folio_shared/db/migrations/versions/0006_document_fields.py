"""Document fields: the structured fields extracted from a payment document.

One row per document: the type the classifier chose (``pix_receipt``,
``boleto``, ``nfe``, a plugin's type, or ``other``), the version of the
extractor that ran (a newer one re-extracts from the stored page texts, no
re-OCR), the fields as JSON, and the client's expected values with their
verdicts (``match`` / ``mismatch`` / ``missing``). Written by worker-docs'
finalize step (an upsert: re-running it leaves one row), read by the API.

A new, empty table: no lock on existing ones beyond the foreign keys.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "document_fields",
        sa.Column(
            "document_id",
            sa.Uuid(),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "tenant_id",
            sa.Uuid(),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("document_type", sa.Text(), nullable=True),
        sa.Column("extractor_version", sa.Text(), nullable=True),
        sa.Column("fields", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("expected", JSONB(), nullable=True),
        sa.Column("verdicts", JSONB(), nullable=True),
        sa.Column("extracted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index(
        "ix_document_fields_tenant_id_document_type",
        "document_fields",
        ["tenant_id", "document_type"],
    )


def downgrade() -> None:
    op.drop_index("ix_document_fields_tenant_id_document_type", table_name="document_fields")
    op.drop_table("document_fields")
