"""Pages: ``ocr_version``, the version of the OCR that read an OCR page.

A reprocessed document keeps its stored pages (checkpoints), so a better
OCR never reached a document read before it: re-extraction ran on the old
OCR text. An OCR page now records the OCR's version
(:data:`folio_shared.pages.OCR_VERSION`), and a reprocess OCRs again the
pages of another version. Existing OCR pages get ``NULL`` (read before OCR
versions were recorded) and are OCRed again the next time their document
is processed; text-layer pages keep ``NULL`` and are never re-read for it.

Adding a nullable column without a default changes no stored row.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision: str | None = "0019"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("ocr_version", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("pages", "ocr_version")
