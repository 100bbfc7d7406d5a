"""Image loading and PDF rendering guards (no Tesseract involved)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from folio_worker_ocr.ocr import (
    ImageTooLarge,
    PageOutOfRange,
    PageSource,
    TooManyPages,
    UnreadableImage,
)
from folio_worker_ocr.ocr.images import image_dpi, load_image_page
from folio_worker_ocr.ocr.render import render_pdf_page

LIMITS = {"max_pixels": 50_000_000, "max_pages": 500}


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def sample(size: tuple[int, int] = (120, 80)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    image.putpixel((5, 5), (0, 0, 0))
    return image


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF"])
def test_supported_formats_load(fmt: str) -> None:
    page = load_image_page(encoded(sample(), fmt), 1, **LIMITS)
    assert page.size == (120, 80)


def test_other_formats_are_refused_whatever_they_are() -> None:
    with pytest.raises(UnreadableImage):
        load_image_page(encoded(sample(), "GIF"), 1, **LIMITS)
    with pytest.raises(UnreadableImage):
        load_image_page(b"%PDF-1.4 not an image", 1, **LIMITS)


def test_header_claiming_too_many_pixels_is_refused_before_decoding() -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
    with pytest.raises(ImageTooLarge):
        load_image_page(bomb, 1, **LIMITS)
    # Also when the own limit is lower than Pillow's warning threshold.
    with pytest.raises(ImageTooLarge) as info:
        load_image_page(encoded(sample((200, 200)), "PNG"), 1, max_pixels=30_000, max_pages=5)
    assert info.value.details["pixels"] == 40_000


def test_truncated_image_is_unreadable() -> None:
    data = encoded(Image.effect_noise((300, 300), 50), "PNG")
    with pytest.raises(UnreadableImage, match="truncated"):
        load_image_page(data[: len(data) // 2], 1, **LIMITS)


def test_tiff_pages_and_limits() -> None:
    frames = [sample((10 + i, 10)) for i in range(4)]
    data = encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    assert load_image_page(data, 3, **LIMITS).size == (12, 10)
    with pytest.raises(PageOutOfRange):
        load_image_page(data, 5, **LIMITS)
    with pytest.raises(TooManyPages):
        load_image_page(data, 1, max_pixels=1000, max_pages=3)


def test_declared_dpi_is_used_when_sane() -> None:
    page = load_image_page(encoded(sample(), "PNG", dpi=(200, 200)), 1, **LIMITS)
    assert image_dpi(page, 300) == 200
    assert image_dpi(load_image_page(encoded(sample(), "PNG"), 1, **LIMITS), 300) == 300


def test_pdf_page_renders_at_dpi_and_respects_pixel_limit() -> None:
    pdf = encoded(sample((850, 1100)), "PDF", resolution=100.0)  # 8.5 x 11 in
    page = render_pdf_page(pdf, 1, dpi=72, max_pixels=10_000_000)
    assert page.mode == "L"
    assert page.size == (612, 792)
    with pytest.raises(ImageTooLarge):
        render_pdf_page(pdf, 1, dpi=1200, max_pixels=10_000_000)
    with pytest.raises(PageOutOfRange):
        render_pdf_page(pdf, 2, dpi=72, max_pixels=10_000_000)
    with pytest.raises(UnreadableImage):
        render_pdf_page(b"%PDF-1.7 broken", 1, dpi=72, max_pixels=10_000_000)


def test_page_source_needs_exactly_one_input() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        PageSource(content_type="image/png", page_no=1)
    with pytest.raises(ValueError, match="content type"):
        PageSource(content_type="text/plain", page_no=1, data=b"x")
