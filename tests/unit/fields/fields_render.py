"""Rendering generated documents as text PDFs, scans and phone-photo-like images.

- :func:`pdf`: a text PDF (reportlab, Helvetica 10 pt; columns at fixed
  offsets, a last cell flush right where the layout says; ids printed small
  and grey, as receipts do; table rules and a logo box where the layout has
  them).
- :func:`scan`: the page rendered at 200 dpi, rotated up to 1.5°, with
  speckle noise.
- :func:`photo`: the page at 110 dpi, rotated up to 2.5°, blurred, dimmed,
  through JPEG at quality 55.
"""

from __future__ import annotations

import io
import random

import pypdfium2 as pdfium
from fields_corpus import Doc
from PIL import Image, ImageChops, ImageEnhance, ImageFilter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

COLUMNS_PT = (40, 290, 430)
RIGHT_PT = 555


def pdf(doc: Doc) -> bytes:
    """The document as a one-page text PDF."""
    buf = io.BytesIO()
    page = canvas.Canvas(buf, pagesize=A4)
    y = A4[1] - 50
    for index, line in enumerate(doc.lines):
        if index == 0 and doc.logo:  # a bank's logo: large white letters on a dark box
            page.setFillGray(0.15)
            page.rect(COLUMNS_PT[0] - 6, y - 8, 230, 30, stroke=0, fill=1)
            page.setFillGray(1.0)
            page.setFont("Helvetica-Bold", 18)
            page.drawString(COLUMNS_PT[0], y, line)
            y -= 36
            continue
        if index in doc.ruled:  # a table's rule above the row and its cells
            page.setLineWidth(0.6)
            page.setStrokeGray(0.55)
            page.line(COLUMNS_PT[0] - 4, y + 10, 560, y + 10)
            page.line(COLUMNS_PT[1] - 8, y + 10, COLUMNS_PT[1] - 8, y - 4)
        small = index in doc.small
        page.setFont("Helvetica", 7 if small else 10)
        page.setFillGray(0.45 if small else 0.0)
        cells = line.split("\t")
        if index in doc.right and len(cells) > 1:  # a value flush with the right margin
            page.drawRightString(RIGHT_PT, y, cells.pop())
        for column, cell in enumerate(cells):
            page.drawString(COLUMNS_PT[min(column, 2)], y, cell)
        y -= 10 if small else 14
    page.save()
    return buf.getvalue()


def _render(data: bytes, dpi: int) -> Image.Image:
    document = pdfium.PdfDocument(data)
    try:
        image = document[0].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        document.close()
    # receipts are short: keep the printed part of the page (and a margin)
    box = ImageChops.invert(image).getbbox() or (0, 0, image.width, image.height)
    margin = dpi // 3
    return image.crop((0, 0, image.width, min(image.height, box[3] + margin)))


def scan(data: bytes, rng: random.Random) -> Image.Image:
    """A flatbed scan: 200 dpi, slight rotation, speckle noise (0.5 % of pixels)."""
    image = _render(data, 200).rotate(
        rng.uniform(-1.5, 1.5), expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC
    )
    pixels = image.load()
    assert pixels is not None
    for _ in range(image.width * image.height // 200):
        pixels[rng.randrange(image.width), rng.randrange(image.height)] = rng.randrange(0, 160)
    return image


def photo(data: bytes, rng: random.Random) -> Image.Image:
    """A phone photo of a printed receipt: low resolution, tilt, blur, dim, JPEG."""
    image = _render(data, 110).rotate(
        rng.uniform(-2.5, 2.5), expand=True, fillcolor=235, resample=Image.Resampling.BICUBIC
    )
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    image = ImageEnhance.Contrast(image).enhance(0.7)
    image = ImageEnhance.Brightness(image).enhance(0.92)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=55)
    return Image.open(io.BytesIO(buf.getvalue())).convert("L")
