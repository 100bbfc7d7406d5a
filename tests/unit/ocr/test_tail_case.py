"""A PIX id's bare ``I``/``l`` stems read in the case of its tail's other
letters, as a tie-breaker only: the rule on its own, and real Tesseract's
measures of a rendered id line keeping a marked glyph as read."""

from __future__ import annotations

import pytest
import tesserocr
from PIL import Image, ImageDraw, ImageFont

from folio_worker_ocr.ocr.glyph_case import Sighting, by_tail_case, tail_case
from tests.unit.ocr.sightings import sightings

HEAD = "E00416968202612051732"
MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.mark.parametrize(
    ("tail", "case"),
    [
        ("DY5D8XDW2VB", "upper"),
        ("s1533b0af6b", "lower"),
        ("Il0Il0Il0Il", None),  # only strokes: nothing to read a case from
        ("XOSVZ12345A", None),  # same-shape letters do not count; one capital is too few
        ("XOSVZ1234AB", "upper"),
        ("eI6V6WWq89b", None),  # capitals of one shape in both cases, among lower case
        ("VdQCwa20PEq", None),  # both cases
    ],
)
def test_a_tails_case_is_read_from_letters_whose_cases_differ_in_shape(
    tail: str, case: str | None
) -> None:
    assert tail_case(HEAD + tail) == case


@pytest.mark.parametrize(
    ("read", "want"),
    [
        ("DY5D8XlW2VB", "DY5D8XIW2VB"),  # an upper-case tail: the stem is I
        ("s1533b0afIb", "s1533b0aflb"),  # a lower-case tail: the stem is l
        ("NklgPToLe8Z", "NklgPToLe8Z"),  # both cases: left as read
        ("Il0Il0Il0Il", "Il0Il0Il0Il"),  # no letter to read a case from
        ("A5uS0il57GH", "A5uS0il57GH"),  # a dotted i is a lower-case letter
        ("eI6V6WWq89b", "eI6V6WWq89b"),  # V and W as read: the tail mixes both cases
    ],
)
def test_a_bare_stem_takes_its_tails_case(read: str, want: str) -> None:
    # Given an id whose glyphs nothing measured, When the tail's case decides
    # Then only I/l change, and only in a one-case tail
    assert by_tail_case(HEAD + read, [], []) == HEAD + want


def _sightings(api: tesserocr.PyTessBaseAPI, e2e: str, face: str) -> list[Sighting]:
    page = Image.new("L", (900, 60), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(face, 18)
    draw.text((20, 18), e2e, font=font, fill=90)
    left, top, right, bottom = draw.textbbox((20, 18), e2e, font=font)
    return sightings(api, page, (int(left), int(top) - 3, int(right), int(bottom) + 3))


def test_a_serifed_capital_stays_a_capital_in_a_lower_case_tail(
    api: tesserocr.PyTessBaseAPI,
) -> None:
    # Given an id in a typeface whose I has serifs (DejaVu Sans Mono), its
    # tail lower case but for that I, read by real Tesseract
    e2e = HEAD + "abdeIghkmn2"
    sightings = _sightings(api, e2e, MONO)
    # Then the glyph's width keeps it an I: the tail's case breaks ties only
    assert by_tail_case(e2e, [], sightings) == e2e
    # while the same id with nothing measured takes the tail's case
    assert by_tail_case(e2e, [], []) == HEAD + "abdelghkmn2"


def test_a_bare_stem_measured_takes_its_tails_case(api: tesserocr.PyTessBaseAPI) -> None:
    # Given an id in a sans typeface (bare stems), its tail upper case, read
    # by real Tesseract, and an engine's id with its I read as l
    e2e = HEAD + "DY5D8XIW2VB"
    sightings = _sightings(api, e2e, SANS)
    # Then the stem, as tall as the capitals and no wider than a stem, is an I
    assert by_tail_case(HEAD + "DY5D8XlW2VB", [], sightings) == e2e
