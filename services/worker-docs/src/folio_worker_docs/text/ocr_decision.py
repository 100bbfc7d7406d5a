"""Deciding whether a page's text layer is usable or the page needs OCR.

A page needs OCR when its text layer is empty, when it is garbage (a PDF
whose fonts have no usable Unicode map yields replacement characters,
private-use code points or control characters), or when the page is
mostly an image carrying only a little text (a scan with a stamped page
number or a searchable-header overlay).

Pure functions over plain values: they run anywhere, including inside the
isolated extraction child process.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class PageTextStatus(StrEnum):
    """Why a page does or does not need OCR."""

    USABLE = "usable"
    EMPTY = "empty"
    GARBAGE = "garbage"
    MOSTLY_IMAGE = "mostly_image"


@dataclass(frozen=True, slots=True)
class OcrThresholds:
    """Thresholds of :func:`classify_page`.

    ``min_good_char_ratio`` (default ``0.85``, fraction 0-1): share of the
    non-space characters that must be letters, digits, punctuation or
    symbols; below it, the text layer is garbage.
    ``min_letter_ratio`` (default ``0.4``, fraction 0-1): share of the
    non-space characters that must be letters or digits; below it (a page
    of ``#$%&!``), garbage.
    ``min_alnum_chars`` (default ``3``, characters): fewer letters or digits
    than this is an empty text layer.
    ``image_area_ratio`` (default ``0.5``, fraction 0-1 of the page area) and
    ``sparse_text_chars`` (default ``200``, letters or digits): a page at
    least this much covered by images with fewer letters or digits than
    this is a scan with a thin text overlay, and is OCRed.
    """

    min_good_char_ratio: float = 0.85
    min_letter_ratio: float = 0.4
    min_alnum_chars: int = 3
    image_area_ratio: float = 0.5
    sparse_text_chars: int = 200


DEFAULT_THRESHOLDS = OcrThresholds()

_GOOD_CATEGORIES = frozenset({"L", "N", "P", "S", "M"})


def classify_page(
    page_text: str,
    page_image_area_ratio: float | None = None,
    thresholds: OcrThresholds = DEFAULT_THRESHOLDS,
) -> PageTextStatus:
    """Classify one page's text layer.

    ``page_image_area_ratio``: the share (0-1) of the page covered by
    images, or ``None`` when unknown (then only the text decides).
    """
    visible = [ch for ch in page_text if not ch.isspace()]
    alnum = sum(1 for ch in visible if ch.isalnum())
    if alnum < thresholds.min_alnum_chars:
        return PageTextStatus.EMPTY
    good = 0
    for ch in visible:
        if ch == "\ufffd":
            continue
        category = unicodedata.category(ch)
        if category[0] in _GOOD_CATEGORIES:
            good += 1
    total = len(visible)
    if good / total < thresholds.min_good_char_ratio:
        return PageTextStatus.GARBAGE
    if alnum / total < thresholds.min_letter_ratio:
        return PageTextStatus.GARBAGE
    if (
        page_image_area_ratio is not None
        and page_image_area_ratio >= thresholds.image_area_ratio
        and alnum < thresholds.sparse_text_chars
    ):
        return PageTextStatus.MOSTLY_IMAGE
    return PageTextStatus.USABLE


def needs_ocr(
    page_text: str,
    page_image_area_ratio: float | None = None,
    thresholds: OcrThresholds = DEFAULT_THRESHOLDS,
) -> bool:
    """``True`` when the page's text layer is not usable and the page must be
    OCRed (see :func:`classify_page`)."""
    return classify_page(page_text, page_image_area_ratio, thresholds) is not PageTextStatus.USABLE
