"""Builders of test documents (PDF, DOCX), made in memory."""

from __future__ import annotations

import io

from docx import Document
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas


def make_pdf(
    pages: list[str | None],
    *,
    encrypt: str | None = None,
    image_pages: frozenset[int] = frozenset(),
) -> bytes:
    """A PDF with one page per item: its text lines (``None``: a blank
    page); pages in ``image_pages`` (1-based) carry a full-page image."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, encrypt=encrypt)
    width, height = A4
    for number, text in enumerate(pages, 1):
        if number in image_pages:
            image = Image.new("RGB", (300, 400), "white")
            ImageDraw.Draw(image).text((20, 20), "Scanned words", fill="black")
            pdf.drawImage(ImageReader(image), 0, 0, width=width, height=height)
        if text:
            y = height - 72
            for line in text.split("\n"):
                pdf.drawString(72, y, line)
                y -= 16
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def make_docx(pages: list[list[str]], table: list[list[str]] | None = None) -> bytes:
    """A DOCX whose pages (split by page breaks) hold these paragraphs; the
    table, if any, follows the first page's paragraphs."""
    document = Document()
    for number, paragraphs in enumerate(pages):
        if number:
            document.add_page_break()
        for text in paragraphs:
            document.add_paragraph(text)
        if number == 0 and table:
            grid = document.add_table(rows=len(table), cols=len(table[0]))
            for r, row in enumerate(table):
                for c, value in enumerate(row):
                    grid.cell(r, c).text = value
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()
