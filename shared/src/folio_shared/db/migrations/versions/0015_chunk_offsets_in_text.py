"""Chunk offsets in the document text the API serves.

Chunks used to be cut from the pages joined by a blank line (``"\\n\\n"``)
while ``GET /v1/documents/{id}/text`` joins them by a form feed (``"\\f"``),
so a chunk's ``char_start``/``char_end`` drifted one character per page
before it. Chunking now joins pages by the form feed too; this migration
moves the stored offsets into that text: a position in the n-th page of
the document (counting from 0) moves back by n. A chunk that crosses a page
break gets its text again from the pages, so it is exactly the text's
slice (its vector, made from the same words, is kept).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None

#: How many pages of its document come before each page.
_PAGES_BEFORE = """
    SELECT document_id, page_no,
      row_number() OVER (PARTITION BY document_id ORDER BY page_no) - 1 AS before
    FROM pages
"""


def _move(sign: str) -> None:
    op.execute(
        f"""
        WITH ranked AS ({_PAGES_BEFORE})
        UPDATE chunks c SET
          char_start = c.char_start {sign} s.before,
          char_end = c.char_end {sign} e.before
        FROM ranked s, ranked e
        WHERE s.document_id = c.document_id AND s.page_no = c.page_start
          AND e.document_id = c.document_id AND e.page_no = c.page_end
          AND (s.before > 0 OR e.before > 0)
        """  # noqa: S608 - the migration's own constants
    )


def _retext(separator: str) -> None:
    op.execute(
        f"""
        WITH crossing AS (
          SELECT DISTINCT document_id FROM chunks WHERE page_start <> page_end
        ), whole AS (
          SELECT p.document_id, string_agg(p.text, {separator} ORDER BY p.page_no) AS text
          FROM pages p JOIN crossing USING (document_id) GROUP BY p.document_id
        )
        UPDATE chunks c SET text = substr(w.text, c.char_start + 1, c.char_end - c.char_start)
        FROM whole w
        WHERE w.document_id = c.document_id AND c.page_start <> c.page_end
        """  # noqa: S608 - the migration's own constants
    )


def upgrade() -> None:
    # Row-level security: the migration works in the services' own scope.
    op.execute("SELECT set_config('folio.scope', 'system', true)")
    _move("-")
    _retext("E'\\f'")


def downgrade() -> None:
    op.execute("SELECT set_config('folio.scope', 'system', true)")
    _move("+")
    _retext("E'\\n\\n'")
