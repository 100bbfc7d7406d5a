"""The relevance sets' Markdown documents printed as a word processor prints them.

:func:`render_pdf` lays a document out with reportlab's ``platypus`` on A5
pages (2-3 pages for the sets' documents): the ``#`` heading as the title,
``##`` headings in bold, paragraphs filled to the measure, a running
header (the title) and footer (``Page N``) on every page. Three
:data:`STYLES`, as word processors' defaults print them:

- ``spaced``: justified paragraphs with space after each;
- ``ragged``: left-aligned paragraphs with space after each;
- ``indented``: justified paragraphs with an indented first line and no
  space between them (a book's paragraphs).
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Paragraph, SimpleDocTemplate

STYLES = ("spaced", "ragged", "indented")
_MARGIN_PT = 50


def _styles(style: str) -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    indented = style == "indented"
    body = ParagraphStyle(
        "body",
        fontName="Times-Roman",
        fontSize=11,
        leading=14,
        alignment=TA_LEFT if style == "ragged" else TA_JUSTIFY,
        spaceAfter=0 if indented else 8,
        firstLineIndent=18 if indented else 0,
    )
    title = ParagraphStyle(
        "title", fontName="Helvetica-Bold", fontSize=16, leading=20, spaceAfter=12
    )
    heading = ParagraphStyle(
        "heading", fontName="Helvetica-Bold", fontSize=12, leading=15, spaceBefore=10, spaceAfter=5
    )
    return body, title, heading


def render_pdf(markdown: str, style: str = "spaced") -> bytes:
    """The document (``#`` and ``##`` headings, paragraphs separated by a
    blank line) as a PDF in ``style`` (one of :data:`STYLES`)."""
    body, title_style, heading = _styles(style)
    story: list[Flowable] = []
    title = ""
    for block in markdown.split("\n\n"):
        text = " ".join(block.split())
        if not text:
            continue
        if text.startswith("## "):
            story.append(Paragraph(escape(text[3:]), heading))
        elif text.startswith("# "):
            title = title or text[2:]
            story.append(Paragraph(escape(text[2:]), title_style))
        else:
            story.append(Paragraph(escape(text), body))

    def running(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(_MARGIN_PT, A5[1] - 30, title)
        canvas.drawRightString(A5[0] - _MARGIN_PT, 25, f"Page {doc.page}")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A5,
        leftMargin=_MARGIN_PT,
        rightMargin=_MARGIN_PT,
        topMargin=_MARGIN_PT,
        bottomMargin=_MARGIN_PT,
        title=title,
    )
    doc.build(story, onFirstPage=running, onLaterPages=running)
    return buf.getvalue()
