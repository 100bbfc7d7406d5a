"""Letter case, round glyphs and ``i`` of a PIX id's tail settled by the
glyphs' measures in Tesseract's readings, where the engines disagree: a
rendered id line (a typeface other than the generated corpus's Helvetica)
read by real Tesseract."""

from __future__ import annotations

import random

import pytest
import tesserocr
from PIL import Image, ImageDraw, ImageFont

from folio_worker_ocr.ocr.glyph_case import Sighting, settle
from tests.unit.ocr.sightings import sightings

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
HEAD = "E00416968202612051732"
#: Tails whose letters have a look-alike of the other case or shape.
TAILS = ("xOvWzi0oSc7", "OcXsiwZu0V3", "kVoxOs2iWzC")


def _flipped(tail: str) -> str:
    """The tail as an engine misreads it: case swapped, ``o``/``0`` and ``i``/``l`` confused."""
    swap = {"0": "o", "o": "0", "O": "0", "i": "l"}
    return "".join(swap.get(c, c.swapcase() if c.lower() in "cosuvwxz" else c) for c in tail)


def _sightings(api: tesserocr.PyTessBaseAPI, e2e: str, seed: int) -> list[Sighting]:
    # a small grey id line, slightly tilted, with specks, as on a 200-dpi scan
    page = Image.new("L", (900, 60), 255)
    draw = ImageDraw.Draw(page)
    draw.text((20, 18), e2e, font=ImageFont.truetype(FONT, 18), fill=110)
    left, top, right, bottom = draw.textbbox((20, 18), e2e, font=ImageFont.truetype(FONT, 18))
    page = page.rotate(0.8, expand=False, fillcolor=255, resample=Image.Resampling.BICUBIC)
    rng = random.Random(seed)
    pixels = page.load()
    assert pixels is not None
    for _ in range(page.width * page.height // 200):
        pixels[rng.randrange(page.width), rng.randrange(page.height)] = rng.randrange(0, 160)
    return sightings(api, page, (int(left), int(top) - 3, int(right), int(bottom) + 3))


@pytest.mark.parametrize("tail", TAILS)
def test_the_glyphs_measures_settle_what_the_engines_read_differently(
    api: tesserocr.PyTessBaseAPI, tail: str
) -> None:
    # Given an id line read by real Tesseract, and one engine's id with the
    # case of its tail's letters swapped, round glyphs and an i confused
    e2e = HEAD + tail
    wrong = HEAD + _flipped(tail)
    sightings = _sightings(api, e2e, seed=len(tail) + ord(tail[0]))
    # Then the measures settle each disputed glyph, whichever engine's id is kept
    assert settle(wrong, [e2e], sightings) == e2e
    assert settle(e2e, [wrong], sightings) == e2e
    # and nothing is settled where the engines agree
    assert settle(wrong, [wrong], sightings) == wrong
