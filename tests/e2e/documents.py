"""Documents of every supported kind, made by the tests (nothing downloaded)."""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def scanned_page(lines: list[str]) -> Image.Image:
    """An A4 page at 300 dpi with ``lines`` drawn as pixels (no text layer)."""
    page = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT), 50)
    for i, line in enumerate(lines):
        draw.text((200, 300 + i * 80), line, font=font, fill=0)
    return page


def pdf(pages: list[str | Image.Image]) -> bytes:
    """A PDF whose pages are text lines (a real text layer) or images."""
    buf = io.BytesIO()
    doc = canvas.Canvas(buf, pagesize=A4)
    width, height = A4
    for page in pages:
        if isinstance(page, Image.Image):
            doc.drawImage(ImageReader(page), 0, 0, width=width, height=height)
        else:
            y = height - 72
            for line in page.split("\n"):
                doc.drawString(72, y, line)
                y -= 16
        doc.showPage()
    doc.save()
    return buf.getvalue()


def docx(paragraphs: list[str], table: list[list[str]]) -> bytes:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    grid = document.add_table(rows=len(table), cols=len(table[0]))
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(300, 300))
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * (width + 1))  # one row; the rest is missing
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def tiff_pages(count: int) -> bytes:
    frames = [Image.new("L", (4, 4), 255) for _ in range(count)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()
