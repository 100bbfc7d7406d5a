"""A second OCR engine for PIX end-to-end id regions: RapidOCR, the PP-OCR
text detection and recognition models run on onnxruntime.

Tesseract and PP-OCR misread different characters of a small grey id:
Tesseract confuses shapes (``q``/``a``, ``h``/``n``, ``b``/``A``), PP-OCR
more often case and ``o``/``0``. After Tesseract's readings are voted
(:func:`~folio_worker_ocr.ocr.reread.best_e2e`), :func:`second_opinion`
reads a band of the page around the id's region (the page's width) with
PP-OCR, whose detector finds the tilted line and whose recogniser reads it
deskewed; on a scan only the lines through the region's own words are its
readings (:func:`on_lines`: the band holds its neighbours too, whose ids are
theirs), and :func:`pick` decides:

- the two engines agree: that id;
- PP-OCR reads a valid id (shape and real embedded date; one near a date
  printed on the page preferred) that Tesseract did not: PP-OCR's, but
  where the two ids differ in at most two characters, Tesseract's reading
  of those that are ``o``/``O``/``0`` or ``I``/``l``/``1`` (:func:`settled`);
- else Tesseract's, as before.

The models ship inside the ``rapidocr-onnxruntime`` package (no download);
they are loaded once per process, at the first id read
(``FOLIO_OCR_SECOND_ENGINE=false`` never loads them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from folio_shared.logging import get_logger
from folio_worker_ocr.ocr.errors import SecondEngineFailed, second_engine_call
from folio_worker_ocr.ocr.id_ctc import Line, Recogniser

_log = get_logger(__name__)

#: Largest side (pixels) of the image the detector works on: a band around
#: an id is smaller, so it is detected at its own scale (PP-OCR's default
#: would upscale its shorter side to 736 pixels, at ten times the cost).
DETECT_LIMIT = 1280
#: Margin around the id's words, in line heights: a line tilted 1.5° over
#: 32 characters drifts about one line height from end to end.
BAND_MARGIN = 2
#: Look-alikes Tesseract's id settles in PP-OCR's (:func:`settled`): round
#: glyphs, which its readings tell apart by their height and width against
#: the line's digits (:mod:`.glyphs`), and vertical strokes, which it votes
#: on over its six readings where PP-OCR reads once.
TESSERACT_GROUPS = (frozenset("oO0"), frozenset("Il1"))
#: Most characters the two engines' ids may differ in for :func:`settled` to
#: apply: more, and Tesseract's reading is likely out of step.
SETTLE_MAX_DIFF = 2


class SecondEngine:
    """PP-OCR through RapidOCR, loaded at the first :meth:`lines` call and
    kept; one inference thread (the worker runs one page per process).

    Its calls raise :class:`~.errors.SecondEngineFailed` for any error inside
    the engine; the caller keeps Tesseract's reading and reports it
    (:meth:`failed`), and :attr:`failures` counts them for the page's result."""

    def __init__(self) -> None:
        self._ocr: Any = None
        #: PP-OCR's recogniser alone, for ids decoded under their grammar (:mod:`.id_ctc`).
        self.ids = Recogniser()
        #: id regions whose reading by this engine failed, since it was made
        self.failures = 0

    def failed(self, error: SecondEngineFailed) -> None:
        """Count and log a failed reading of an id region (no text of the
        page is logged: the region may hold a tax id)."""
        self.failures += 1
        _log.warning(
            "second OCR engine failed on an id region; Tesseract's reading is kept",
            error=error.details.get("type", ""),
            reason=str(error.__cause__ or error)[:200],
        )

    def lines(self, image: Image.Image) -> list[str]:
        """The text lines PP-OCR detects and reads in ``image``, top to bottom."""
        return [line.text for line in self.detect(image)]

    def detect(self, image: Image.Image) -> list[Line]:
        """The text lines PP-OCR detects in ``image``, top to bottom, with their quadrilaterals."""
        with second_engine_call():
            if self._ocr is None:
                from rapidocr_onnxruntime import RapidOCR

                self._ocr = RapidOCR(
                    intra_op_num_threads=1,
                    inter_op_num_threads=1,
                    det_limit_type="max",
                    det_limit_side_len=DETECT_LIMIT,
                )
            found, _ = self._ocr(np.asarray(image.convert("RGB")), use_cls=False)
        boxes = sorted(found or [], key=lambda item: min(point[1] for point in item[0]))
        return [
            Line(tuple((float(x), float(y)) for x, y in item[0]), str(item[1])) for item in boxes
        ]


def band_box(
    size: tuple[int, int], box: tuple[int, int, int, int], line_height: int, chars: int | None
) -> tuple[int, int, int, int]:
    """The part (left, top, right, bottom) of an image of ``size`` around
    ``box`` (left, top, right, bottom of an id's words, perhaps over two
    lines of ``line_height`` pixels): with ``chars``, widened to the right to
    hold that many characters; with ``None``, the page's whole width, as the
    page OCR may have read only part of an id, or of each line of a wrapped
    one, and a band cut at its words gave the detector broken lines, or none."""
    width, page_height = size
    left, top, right, bottom = box
    height = max(1, line_height)
    margin = BAND_MARGIN * height
    if chars is None:
        left, right = 0, width
    else:
        right = max(right, left + chars * height)
    return (
        max(0, left - margin),
        max(0, top - margin),
        min(width, right + margin),
        min(page_height, bottom + margin),
    )


def band(
    image: Image.Image, box: tuple[int, int, int, int], line_height: int, chars: int | None
) -> Image.Image:
    """``image`` cut to :func:`band_box`."""
    return image.crop(band_box(image.size, box, line_height, chars))


def _edge_at(start: tuple[float, float], end: tuple[float, float], x: float) -> float:
    """The height at ``x`` of the straight edge through ``start`` and ``end``."""
    (x0, y0), (x1, y1) = start, end
    return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def on_lines(
    lines: Sequence[Line],
    boxes: Sequence[tuple[int, int, int, int]],
    area: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> set[int]:
    """Indexes of the ``lines`` detected in the part ``area`` of a page
    (:func:`band_box`) that run through one of ``boxes`` (an id region's
    words on each of its printed lines, in the page's pixels): at the box's
    middle, the line's top and bottom edges (extended, the line perhaps
    tilted) overlap the box for at least half the lower of the two. A band
    holds the lines above and below an id's too: a valid id read on one of
    them is that line's, and taken as this region's reading it would
    overwrite the region's text with a copy of it."""
    boxes = [(x0 - area[0], y0 - area[1], x1 - area[0], y1 - area[1]) for x0, y0, x1, y1 in boxes]
    found = set()
    for index, line in enumerate(lines):
        tl, tr, br, bl = line.corners[:4]
        for left, top, right, bottom in boxes:
            middle = (left + right) / 2
            upper, lower = _edge_at(tl, tr, middle), _edge_at(bl, br, middle)
            overlap = min(lower, bottom) - max(upper, top)
            if overlap >= 0.5 * min(lower - upper, bottom - top):
                found.add(index)
    return found


@dataclass(frozen=True)
class Native:
    """A coarse page (a phone photo) as it was taken, for the second engine
    to read while Tesseract reads the page upscaled ``scale`` times. PP-OCR's
    recogniser brings every line to its own height: fed the upscaled copy's
    resampled strokes, it misread more characters of a small grey id (on the
    generated 110-dpi photos, ids about 6 pixels high: docs/benchmarks.md,
    "PIX ids on photos")."""

    image: Image.Image
    scale: float = 1.0

    def band(self, box: tuple[int, int, int, int], line_height: int, chars: int) -> Image.Image:
        """:func:`band` of the photo around ``box`` (in the upscaled page's
        pixels), contrast stretched (photos are dim and the ids grey)."""
        left, top, right, bottom = (v / self.scale for v in box)
        small = (int(left), int(top), math.ceil(right), math.ceil(bottom))
        height = max(1, round(line_height / self.scale))
        return ImageOps.autocontrast(band(self.image, small, height, chars), cutoff=1)


def readings(lines: Sequence[str], own: Collection[int] | None = None) -> list[str]:
    """Each line's alphanumerics, and each two consecutive lines' joined (an id
    wrapped over two lines); a line read with its label (``Identificador:
    E...``) also from each ``E`` on. With ``own`` (indexes of the lines on an
    id region's own line, :func:`on_lines`), only those lines, alone and
    joined with the line after each (its id wrapped below)."""
    texts = ["".join(c for c in line if c.isalnum()) for line in lines]
    firsts = range(len(texts)) if own is None else sorted(own)
    joined = [texts[i] for i in firsts] + [
        texts[i] + texts[i + 1] for i in firsts if i + 1 < len(texts)
    ]
    tails = [t[i:] for t in joined if len(t) > 34 for i in range(1, len(t) - 31) if t[i] == "E"]
    return joined + tails


def settled(tesseract: str, second: str, valid: Callable[[str], bool]) -> str:
    """PP-OCR's id ``second`` with the look-alikes of :data:`TESSERACT_GROUPS`
    read as Tesseract's id ``tesseract`` reads them, when the two differ in at
    most :data:`SETTLE_MAX_DIFF` characters (the same id, read in step) and
    the result is valid."""
    diff = [i for i, (a, b) in enumerate(zip(tesseract, second, strict=False)) if a != b]
    if len(tesseract) != len(second) or len(diff) > SETTLE_MAX_DIFF:
        return second
    chars = list(second)
    for i in diff:
        if any(tesseract[i] in group and second[i] in group for group in TESSERACT_GROUPS):
            chars[i] = tesseract[i]
    merged = "".join(chars)
    return merged if valid(merged) else second


def pick(
    tesseract: str | None,
    second: Sequence[str],
    valid: Callable[[str], bool],
    dated: Callable[[str], bool],
    settle: bool = True,
) -> str | None:
    """The end-to-end id to keep, from Tesseract's voted id (or ``None``) and
    the second engine's shaped readings (see the module's rules). ``valid``
    tells whether a reading is a valid id, ``dated`` whether its embedded
    date is near a date printed on the page; ``settle=False``: PP-OCR's id
    as it read it (no :func:`settled`)."""
    if tesseract is not None and tesseract in second:
        return tesseract
    good = [s for s in second if valid(s)]
    near = [s for s in good if dated(s)]
    if tesseract is not None and dated(tesseract) and not near:
        return tesseract
    found = near or good
    if not found:
        return tesseract
    return found[0] if tesseract is None or not settle else settled(tesseract, found[0], valid)
