"""Targeted re-reading of identifier regions: PIX end-to-end ids, boleto
lines, NF-e access keys.

OCR of a whole page loses or confuses characters of long identifiers,
above all the small grey end-to-end ids of PIX receipts and long digit
groups on noisy scans. After the page is recognised, :func:`reread` takes
the regions where such ids are (:func:`~.id_regions.regions`, from
Tesseract's word boxes), crops them of the page image, upscales it and reads it
again as one text line (page segmentation mode 7) with a character
whitelist, in a few variants. Each reading is checked by the identifier's
known shape (:func:`~folio_shared.identifiers.e2e_valid`: ``E`` + ISPB +
a real ``yyyyMMddHHmm`` + 11 alphanumerics) or check digits (boleto lines
modulo 10/11, access keys modulo 11); among the valid readings the most
frequent wins (per character, for the end-to-end id's unchecked tail), and
it replaces the words in the page text. A region no reading validates is
left as the page OCR read it.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import tesserocr
from PIL import Image, ImageOps

from folio_shared.identifiers import (
    DIGIT_LOOKALIKES,
    digitable_line_valid,
    e2e_valid,
    nfe_key_valid,
    repair_e2e,
)
from folio_worker_ocr.ocr.id_regions import Region, Word, page_words, regions

#: Characters a digit-group id is read with.
DIGITS = "0123456789"
#: Characters an end-to-end id is read with.
ALPHANUMERIC = string.digits + string.ascii_letters
#: Text heights (pixels) the region is upscaled to and binarised at, one reading each.
TARGET_HEIGHTS = (24, 32, 40)
#: Width of a character of an id, as a share of its words' box height
#: (Helvetica-like digits are 0.556 em wide, their box about 0.72 em high;
#: the margin takes in a wider font).
CHAR_WIDTH = 1.0
#: Most regions read again on one page (each costs a few single-line readings):
#: a page of number tables keeps the cost bounded.
MAX_REGIONS = 12
#: Lengths of the digit-group ids: NF-e key, bank boleto line, arrecadação line.
DIGIT_ID_LENGTHS = (44, 47, 48)


def _box(words: tuple[Word, ...]) -> tuple[int, int, int, int]:
    return (
        min(w.box[0] for w in words),
        min(w.box[1] for w in words),
        max(w.box[2] for w in words),
        max(w.box[3] for w in words),
    )


def otsu(image: Image.Image) -> int:
    """The grey level that best splits ``image`` into ink and paper (Otsu's method)."""
    histogram = image.histogram()[:256]
    total = sum(histogram)
    grand = sum(i * n for i, n in enumerate(histogram))
    best, best_level, below, below_sum = -1.0, 128, 0, 0
    for level in range(256):
        below += histogram[level]
        below_sum += level * histogram[level]
        above = total - below
        if below == 0 or above == 0:
            continue
        spread = below * above * (below_sum / below - (grand - below_sum) / above) ** 2
        if spread > best:
            best, best_level = spread, level
    return best_level


def _variants(image: Image.Image, box: tuple[int, int, int, int]) -> Iterator[Image.Image]:
    left, top, right, bottom = box
    height = max(bottom - top, 1)
    pad = max(2, height // 2)
    crop = image.crop(
        (max(0, left - pad), max(0, top - pad), min(image.width, right + pad), bottom + pad)
    )
    crop = ImageOps.autocontrast(crop, cutoff=1)
    for target in TARGET_HEIGHTS:
        scale = max(1.0, target / height)
        size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
        big = crop.resize(size, Image.Resampling.LANCZOS)
        level = otsu(big)
        yield big.point(lambda p, level=level: 0 if p <= level else 255)


def _read_line(api: tesserocr.PyTessBaseAPI, image: Image.Image, whitelist: str) -> str:
    api.SetPageSegMode(tesserocr.PSM.SINGLE_LINE)
    api.SetVariable("tessedit_char_whitelist", whitelist)
    api.SetImageBytes(image.tobytes(), image.width, image.height, 1, image.width)
    api.SetSourceResolution(300)
    try:
        return str(api.GetUTF8Text()).strip()
    finally:
        api.Clear()


def _valid_digits(digits: str) -> bool:
    if len(digits) == 44:
        return nfe_key_valid(digits)
    return len(digits) in (47, 48) and digitable_line_valid(digits)


@dataclass(frozen=True)
class DigitWindow:
    """Groups ``start:end`` of a reading whose digits form a valid id;
    ``before``: digits read ahead of them (a bank code printed on the same line)."""

    groups: tuple[str, ...]
    start: int
    end: int
    before: int

    @property
    def digits(self) -> str:
        return "".join(self.groups[self.start : self.end])

    @property
    def text(self) -> str:
        return " ".join(self.groups[self.start : self.end])


def digit_window(reading: str) -> DigitWindow | None:
    """The first run of whole digit groups in ``reading`` that is a valid
    access key or digitable line (longest first at each start), or ``None``."""
    groups = tuple("".join(c for c in g if c.isdigit()) for g in reading.split())
    groups = tuple(g for g in groups if g)
    before = 0
    for start in range(len(groups)):
        total = 0
        ends = []
        for end in range(start + 1, len(groups) + 1):
            total += len(groups[end - 1])
            if total in DIGIT_ID_LENGTHS:
                ends.append(end)
            if total >= max(DIGIT_ID_LENGTHS):
                break
        for end in reversed(ends):
            window = DigitWindow(groups, start, end, before)
            if _valid_digits(window.digits):
                return window
        before += len(groups[start])
    return None


def _digit_id(reading: str) -> str | None:
    window = digit_window(reading)
    return None if window is None else window.digits


def _e2e(reading: str) -> str | None:
    fixed = repair_e2e("".join(c for c in reading if c.isalnum()))
    return fixed if fixed is not None and e2e_valid(fixed) else None


def _aligned(words: tuple[Word, ...], before: int, size: int) -> str:
    """The page words holding digits ``before:before + size`` of the run (by digit counts)."""
    counts = [sum(c.isdigit() for c in w.text.translate(DIGIT_LOOKALIKES)) for w in words]
    edges = [sum(counts[:i]) for i in range(len(words) + 1)]
    first = min(range(len(words)), key=lambda i: abs(edges[i] - before))
    last = min(range(first + 1, len(words) + 1), key=lambda i: abs(edges[i] - before - size))
    return " ".join(w.text for w in words[first:last])


def _vote(readings: list[str]) -> str:
    """Per character, the most frequent among equal-length readings (first wins ties)."""
    return "".join(Counter(chars).most_common(1)[0][0] for chars in zip(*readings, strict=True))


class Reader:
    """Reads regions of ``image`` again with ``api``, a Tesseract engine kept for
    single lines (its whitelist is set for each reading)."""

    def __init__(self, api: tesserocr.PyTessBaseAPI, image: Image.Image) -> None:
        self.api = api
        self.image = image

    def readings(
        self,
        words: tuple[Word, ...],
        whitelist: str,
        check: Callable[[str], str | None],
        width_chars: int = 0,
    ) -> Iterator[tuple[str, str | None]]:
        """Each variant's raw reading of the words' region and its checked value;
        with ``width_chars``, the region is widened to the right to hold that
        many characters (the page OCR may have read only the start of an id)."""
        left, top, right, bottom = _box(words)
        right = max(right, left + round(width_chars * CHAR_WIDTH * (bottom - top)))
        for variant in _variants(self.image, (left, top, right, bottom)):
            raw = _read_line(self.api, variant, whitelist)
            yield raw, check(raw)

    def digit_id(self, region: Region) -> tuple[str, str] | None:
        """``(page words, replacement)`` for a digit-group id, or ``None`` to keep the page's."""
        words = region.parts[0]
        page = digit_window(" ".join(w.text.translate(DIGIT_LOOKALIKES) for w in words))
        if page is not None:  # valid as read: only its stray characters go
            return _aligned(words, page.before, len(page.digits)), page.text
        windows = [
            window
            for raw, _ in self.readings(words, DIGITS + " ", _digit_id)
            if (window := digit_window(raw)) is not None
        ]
        if not windows:
            return None
        best = Counter(w.digits for w in windows).most_common(1)[0][0]
        window = next(w for w in windows if w.digits == best)
        return _aligned(words, window.before, len(best)), window.text

    def e2e(self, region: Region) -> list[str] | None:
        """Replacement texts of an end-to-end id's parts, or ``None`` to keep the page's."""
        widen = 32 if len(region.parts) == 1 else 0
        per_part = [
            list(self.readings(part, ALPHANUMERIC, lambda raw: raw, widen)) for part in region.parts
        ]
        joined: list[tuple[list[str], str]] = []
        for combo in zip(*per_part, strict=True):
            texts = ["".join(c for c in raw if c.isalnum()) for raw, _ in combo]
            value = _e2e("".join(texts))
            if value is not None:
                joined.append((texts, value))
        page = _e2e("".join(region.part_text(i) for i in range(len(region.parts))))
        values = [value for _, value in joined] + ([page] if page is not None else [])
        if not joined:
            return None
        best = _vote(values)
        if not e2e_valid(best):
            best = joined[0][1]
        cuts = [len(t) for t in joined[0][0]]
        out, start = [], 0
        for size in cuts:
            out.append(best[start : start + size])
            start += size
        return out


def reread(
    page_api: tesserocr.PyTessBaseAPI,
    line_api: tesserocr.PyTessBaseAPI,
    image: Image.Image,
    text: str,
) -> tuple[str, int]:
    """The page text with its id regions read again; and how many were replaced.

    ``page_api`` has just recognised ``image`` (its word boxes are read);
    ``line_api`` reads the regions (page segmentation mode 7, whitelists).
    """
    if not text.strip():
        return text, 0
    found = regions(page_words(page_api))[:MAX_REGIONS]
    reader = Reader(line_api, image)
    replaced = 0
    for region in found:
        if region.kind == "digits":
            found_id = reader.digit_id(region)
            pairs = [] if found_id is None else [found_id]
        else:
            texts = reader.e2e(region) or []
            pairs = [(region.part_text(i), new) for i, new in enumerate(texts)]
        for old, new_text in pairs:
            if old in text and old != new_text:
                text = text.replace(old, new_text, 1)
                replaced += 1
    return text, replaced
