"""Specks off a scan (:func:`folio_worker_ocr.ocr.clean.despeckled`): a page
with dust spread over it loses its lone dark pixels and keeps its text; a
clean page, or one with less dust than :data:`SPECKLED_SHARE`, is left
alone (``None``), as is a coarse one."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFont

from folio_worker_ocr.ocr.clean import DARK, SPECKLED_SHARE, despeckled, lone_dark

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DPI = 300


def _page(specks: float) -> tuple[Image.Image, Image.Image]:
    """A page of text, and the same page with ``specks`` times the speckled
    share of lone dark pixels strewn over it (away from the text)."""
    clean = Image.new("L", (1600, 2200), 255)
    draw = ImageDraw.Draw(clean)
    font = ImageFont.truetype(FONT, 36)
    for row in range(20):
        draw.text((80, 100 + row * 100), f"Valor pago R$ 1.234,{row:02d} em 05/12/2026", font=font)
    dusty = clean.copy()
    rng = random.Random(3)
    wanted = round(specks * SPECKLED_SHARE * clean.width * clean.height)
    placed = 0
    while placed < wanted:
        x, y = rng.randrange(1, clean.width - 1), rng.randrange(1, clean.height - 1)
        square = clean.crop((x - 2, y - 2, x + 3, y + 3))
        if (
            square.getextrema()[0] == 255
            and dusty.crop((x - 2, y - 2, x + 3, y + 3)).getextrema()[0] == 255
        ):
            dusty.putpixel((x, y), 0)
            placed += 1
    return clean, dusty


def _dark(image: Image.Image) -> int:
    return sum(image.histogram()[:DARK])


def test_dust_spread_over_a_page_goes_and_the_text_stays() -> None:
    clean, dusty = _page(specks=3.0)
    cleaned = despeckled(dusty, DPI)
    assert cleaned is not None
    assert lone_dark(cleaned).histogram()[255] == 0
    assert cleaned.tobytes() == clean.tobytes()


def test_a_clean_page_and_a_little_dust_are_left_alone() -> None:
    clean, lightly = _page(specks=0.5)
    assert despeckled(clean, DPI) is None
    assert despeckled(lightly, DPI) is None
    assert _dark(lightly) > _dark(clean)


def test_a_coarse_page_is_never_despeckled() -> None:
    _, dusty = _page(specks=3.0)
    assert despeckled(dusty, 110) is None
