"""Pages: ``text_version``, the version of the reading of a text-layer page.

Like ``ocr_version`` (migration 0020) for OCR pages: a reprocessed document
keeps its stored pages, so a better reading of text layers (Markdown
rendered as a reader sees it, PDF running headers and footers kept on the
first page only) never reached a document read before it. A text-layer
page now records the version of worker-docs' reading
(``folio_worker_docs.text.TEXT_VERSION``), and a reprocess reads again the
text-layer pages of another version. Existing text-layer pages get ``NULL``
and are read again the next time their document is processed (no OCR:
reading a text layer again costs a fraction of a second per page).

Adding a nullable column without a default changes no stored row.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision: str | None = "0021"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("text_version", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("pages", "text_version")
