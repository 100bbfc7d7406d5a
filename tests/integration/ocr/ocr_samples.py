"""Test pages for OCR, generated on the fly: text drawn with a real TrueType font."""

from __future__ import annotations

import io
import re
import struct
import unicodedata
import zlib
from collections import Counter
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian fonts-dejavu-core

#: A4 at 300 dpi.
PAGE_SIZE_PX = (2480, 3508)

ENGLISH = [
    "The quarterly report describes the payment schedule",
    "agreed with every supplier of the northern region.",
    "Invoices must be approved by the finance manager",
    "before the end of the month, and each receipt is",
    "archived with the contract number and the date.",
    "Late payments are reviewed every Monday morning.",
]

PORTUGUESE = [
    "Este comprovante confirma o pagamento da fatura",
    "referente ao mês de março, conforme a ação judicial",
    "número quatro. A instituição recebeu a informação",
    "e a operação foi concluída sem nenhuma exceção.",
    "Guarde este comprovante de pagamento com atenção",
    "até a próxima avaliação da comissão.",
]


def text_page(lines: list[str], *, font_px: int = 46) -> Image.Image:
    """A white A4 page at 300 dpi with ``lines`` in black (about 11 pt)."""
    page = Image.new("L", PAGE_SIZE_PX, 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT_PATH), font_px)
    for i, line in enumerate(lines):
        draw.text((200, 250 + i * int(font_px * 1.6)), line, font=font, fill=0)
    return page


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


def pdf_bytes(image: Image.Image) -> bytes:
    """An image-only PDF (no text layer) whose page is ``image`` at 300 dpi."""
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=300.0)
    return out.getvalue()


def words(text: str) -> list[str]:
    """Lower-case words without punctuation (accents kept, NFC)."""
    text = unicodedata.normalize("NFC", text).lower()
    return re.findall(r"[^\W_]+", text)


def recovered_fraction(expected: list[str], text: str) -> float:
    """Share of the expected words (with multiplicity) found in ``text``."""
    want = Counter(words(" ".join(expected)))
    got = Counter(words(text))
    return sum((want & got).values()) / sum(want.values())


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int, *, color_type: int = 0, body_rows: int = 1) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (8-bit).

    The image data holds ``body_rows`` rows (white): the file is a few bytes
    but would decode to ``width * height`` pixels.
    """
    channels = {0: 1, 2: 3}[color_type]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * (width * channels)
    data = b"".join(compressor.compress(row) for _ in range(body_rows)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
    )


def white_png(width: int, height: int, *, color_type: int = 2) -> bytes:
    """A real, complete white PNG of ``width`` x ``height`` (small on disk)."""
    return png_claiming(width, height, color_type=color_type, body_rows=height)


def many_page_tiff(pages: int) -> bytes:
    """A TIFF with ``pages`` tiny 8 x 8 frames."""
    frames = [Image.new("L", (8, 8), 255) for _ in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()
