"""An id's glyphs as the re-reading sees them, for the glyph tests."""

from __future__ import annotations

import tesserocr
from PIL import Image

from folio_worker_ocr.ocr.glyph_case import Sighting
from folio_worker_ocr.ocr.glyphs import read_by_shape
from folio_worker_ocr.ocr.reread import ALPHANUMERIC
from folio_worker_ocr.ocr.variants import variants


def sightings(
    api: tesserocr.PyTessBaseAPI, page: Image.Image, box: tuple[int, int, int, int]
) -> list[Sighting]:
    """The glyphs Tesseract reads in ``box`` of ``page``, one sighting per
    upscaled variant, as the re-reading measures them."""
    out = []
    for variant in variants(page, box, page):
        symbols: list[tuple[str, tuple[int, int, int, int]]] = []
        read_by_shape(api, variant, ALPHANUMERIC, symbols)
        out.append(Sighting(((variant, tuple(symbols)),)))
    return out
