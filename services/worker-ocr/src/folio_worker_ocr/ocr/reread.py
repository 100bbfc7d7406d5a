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
from datetime import date, datetime, timedelta

import tesserocr
from PIL import Image

from folio_shared.identifiers import (
    DIGIT_LOOKALIKES,
    e2e_date,
    e2e_valid,
    repair_e2e,
)
from folio_worker_ocr.ocr.errors import SecondEngineFailed
from folio_worker_ocr.ocr.glyph_case import Box, Sighting, by_tail_case, settle
from folio_worker_ocr.ocr.glyphs import read_by_shape
from folio_worker_ocr.ocr.id_digits import aligned, digit_window, valid_digit_id
from folio_worker_ocr.ocr.id_read import read_e2e, settle_coarse
from folio_worker_ocr.ocr.id_regions import Region, Word, box_of, page_words, regions
from folio_worker_ocr.ocr.page_dates import dates_on, days_on
from folio_worker_ocr.ocr.second_engine import (
    Native,
    SecondEngine,
    band_box,
    on_lines,
    pick,
    readings,
)
from folio_worker_ocr.ocr.variants import variants as _variants

#: Characters a digit-group id is read with.
DIGITS = "0123456789"
#: Characters an end-to-end id is read with.
ALPHANUMERIC = string.digits + string.ascii_letters
#: Width of a character of an id, as a share of its words' box height
#: (Helvetica-like digits are 0.556 em wide, their box about 0.72 em high;
#: the margin takes in a wider font).
CHAR_WIDTH = 1.0
#: Most regions read again on one page (each costs a few single-line readings):
#: a page of number tables keeps the cost bounded.
MAX_REGIONS = 12
#: Farthest an end-to-end id's embedded date (UTC, minutes) may be from a
#: date printed on its page (local time, often the day only) and count as near.
E2E_DATE_SLACK = timedelta(days=1, hours=6)


def _read_line(api: tesserocr.PyTessBaseAPI, image: Image.Image, whitelist: str) -> str:
    api.SetPageSegMode(tesserocr.PSM.SINGLE_LINE)
    api.SetVariable("tessedit_char_whitelist", whitelist)
    api.SetImageBytes(image.tobytes(), image.width, image.height, 1, image.width)
    api.SetSourceResolution(300)
    try:
        return str(api.GetUTF8Text()).strip()
    finally:
        api.Clear()


def _e2e_shaped(reading: str) -> str | None:
    """The 32 characters of ``reading`` (alphanumerics only) shaped like an
    end-to-end id, look-alikes repaired where digits go; its date unchecked.
    A reading one or two characters too long (a speck, a border) is tried
    at each offset."""
    chars = "".join(c for c in reading if c.isalnum())
    for start in range(max(0, len(chars) - 31) if len(chars) <= 34 else 0):
        fixed = repair_e2e(chars[start : start + 32])
        if fixed is not None:
            return fixed
    return None


def _e2e(reading: str) -> str | None:
    fixed = _e2e_shaped(reading)
    return fixed if fixed is not None and e2e_valid(fixed) else None


def _near(value: str, dates: list[datetime]) -> bool:
    """Whether the id's embedded date is within :data:`E2E_DATE_SLACK` of a date on the page."""
    embedded = e2e_date(value)
    return embedded is not None and any(abs(embedded - d) <= E2E_DATE_SLACK for d in dates)


def best_e2e(readings: list[str], dates: list[datetime], agree: int = 1) -> str | None:
    """The end-to-end id the readings agree on, or ``None``.

    Each reading is shaped (:func:`_e2e_shaped`); the id is voted per
    character over the shaped readings of the most frequent length. When the
    vote is not a valid id (a real ``yyyyMMddHHmm``), the most frequent valid
    reading wins. With ``dates`` (the dates printed on the page), a valid id
    whose embedded date is not within a day of one of them is used only if
    no id is. With ``agree``, the id must be what at least that many
    readings read, whole (a page too coarse for a vote to be trusted).
    """
    shaped = [s for r in readings if (s := _e2e_shaped(r)) is not None]
    valid = [s for s in shaped if e2e_valid(s)]
    dated = [v for v in valid if _near(v, dates)]
    valid = dated or valid
    if not valid:
        return None
    voted = _vote(shaped)
    if e2e_valid(voted) and (not dated or _near(voted, dates)):
        best = voted
    else:
        best = Counter(valid).most_common(1)[0][0]
    return best if agree <= 1 or shaped.count(best) >= agree else None


def _vote(readings: list[str]) -> str:
    """Per character, the most frequent among the readings of the most
    frequent length (the first reading wins ties)."""
    if not readings:
        return ""
    size = Counter(len(r) for r in readings).most_common(1)[0][0]
    same = [r for r in readings if len(r) == size]
    return "".join(Counter(chars).most_common(1)[0][0] for chars in zip(*same, strict=True))


class Reader:
    """Reads regions of ``image`` again with ``api``, a Tesseract engine kept for
    single lines (its whitelist is set for each reading); with ``second``,
    end-to-end ids are also read by that engine (:mod:`.second_engine`)."""

    def __init__(
        self,
        api: tesserocr.PyTessBaseAPI,
        image: Image.Image,
        original: Image.Image | None = None,
        second: SecondEngine | None = None,
    ) -> None:
        self.api = api
        self.image = image
        self.original = image if original is None else original
        self.second = second
        self.native: Native | None = None  # a coarse page as taken (see reread)
        self.days: list[date] = []  # the days printed on the page
        #: per id region of a coarse page: the engines' id and the one kept
        self.picks: list[tuple[str | None, str | None]] = []

    def readings(
        self,
        words: tuple[Word, ...],
        whitelist: str,
        check: Callable[[str], str | None],
        width_chars: int = 0,
        grey: bool = False,
        sightings: list[tuple[Image.Image, tuple[tuple[str, Box], ...]]] | None = None,
    ) -> Iterator[tuple[str, str | None]]:
        """Each variant's raw reading of the words' region and its checked value;
        with ``width_chars``, the region is widened to the right to hold that
        many characters (the page OCR may have read only the start of an id);
        with ``grey``, ``sightings`` gets each variant image and its symbols."""
        left, top, right, bottom = box_of(words)
        right = max(right, left + round(width_chars * CHAR_WIDTH * (bottom - top)))
        box = (left, top, right, bottom)
        median = whitelist.strip() == DIGITS
        for variant in _variants(self.image, box, self.original if grey else None, median):
            if grey:
                symbols: list[tuple[str, Box]] = []
                raw = read_by_shape(self.api, variant, whitelist, symbols)
                if sightings is not None:
                    sightings.append((variant, tuple(symbols)))
            else:
                raw = _read_line(self.api, variant, whitelist)
            yield raw, check(raw)

    def digit_id(self, region: Region) -> tuple[str, str] | None:
        """``(page words, replacement)`` for a digit-group id, or ``None`` to keep the page's."""
        words = region.parts[0]
        page = digit_window(" ".join(w.text.translate(DIGIT_LOOKALIKES) for w in words))
        if page is not None:  # valid as read: only its stray characters go
            return aligned(words, page.before, len(page.digits)), page.text
        windows = [
            window
            for raw, _ in self.readings(words, DIGITS + " ", valid_digit_id)
            if (window := digit_window(raw)) is not None
        ]
        if not windows:
            return None
        best = Counter(w.digits for w in windows).most_common(1)[0][0]
        window = next(w for w in windows if w.digits == best)
        return aligned(words, window.before, len(best)), window.text

    @staticmethod
    def _measured(
        best: str,
        tesseract: str | None,
        second: list[str],
        seen: list[list[tuple[Image.Image, tuple[tuple[str, Box], ...]]]],
    ) -> str:
        """``best`` with the tail characters Tesseract's id or the second
        engine's first valid id read differently settled by the glyphs' measures
        in Tesseract's readings (:func:`~.glyph_case.settle`), if still valid;
        then its tail's strokes read in the tail's case where the glyphs do
        not decide (:func:`~.glyph_case.by_tail_case`)."""
        others = [tesseract] if tesseract is not None else []
        others += [s for s in second if e2e_valid(s)][:1]
        sightings = [Sighting(parts) for parts in zip(*seen, strict=False)]
        measured = settle(best, others, sightings)
        measured = measured if e2e_valid(measured) else best
        return by_tail_case(measured, others, sightings)

    def _second_opinion(
        self,
        region: Region,
        best: str | None,
        dates: list[datetime],
        coarse: bool,
        page: str,
        seen: list[list[tuple[Image.Image, tuple[tuple[str, Box], ...]]]],
    ) -> str | None:
        """The id to keep once the second engine has read the region's band,
        from Tesseract's voted id ``best`` (:mod:`.second_engine`); on a
        ``coarse`` page also decoded under the id's grammar (:mod:`.id_read`).
        Raises :class:`~.errors.SecondEngineFailed` when the engine fails."""
        assert self.second is not None
        widen = 32 if len(region.parts) == 1 else 0
        box = box_of(tuple(w for part in region.parts for w in part))
        line_height = box_of(region.parts[0])[3] - box[1]
        # a coarse page, read upscaled: a page-wide band is wider than the
        # detector's limit and read shrunk (photo ids came out worse)
        if coarse and self.native is not None:
            # a short id and nothing after it: its wrapped second line, lost, too
            lost = len(region.parts) == 1 and len(page.replace(" ", "")) < 30
            box = (*box[:3], box[3] + 2 * line_height * lost)
            wide = self.native.band(box, line_height, widen)
        else:
            area = band_box(self.original.size, box, line_height, widen if coarse else None)
            wide = self.original.crop(area)
        detected = self.second.detect(wide)
        # on a scan, only the lines through the region's words are its readings
        own = None if coarse else on_lines(detected, [box_of(p) for p in region.parts], area)
        lines = [line.text for line in detected]
        shaped = [s for r in readings(lines, own) if (s := _e2e_shaped(r)) is not None]
        tesseract = best
        best = pick(best, shaped, e2e_valid, lambda v: _near(v, dates), settle=not coarse)
        if coarse:
            decoded = read_e2e(self.second.ids, wide, detected, self.days)
            picked, best = best, settle_coarse(best, decoded, tesseract)
            self.picks.append((picked, best))
        if best is not None and not coarse:
            best = self._measured(best, tesseract, shaped, seen)
        return best

    def e2e(self, region: Region, dates: list[datetime], agree: int = 1) -> list[str] | None:
        """Replacement texts of an end-to-end id's parts, or ``None`` to keep the page's."""
        widen = 32 if len(region.parts) == 1 else 0
        seen: list[list[tuple[Image.Image, tuple[tuple[str, Box], ...]]]] = [
            [] for _ in region.parts
        ]
        per_part = [
            [
                raw
                for raw, _ in self.readings(
                    part, ALPHANUMERIC, str, widen, grey=True, sightings=seen[i]
                )
            ]
            for i, part in enumerate(region.parts)
        ]
        combos = [
            ["".join(c for c in raw if c.isalnum()) for raw in combo]
            # the parts' variants pair up by size; a part too tall to be
            # upscaled has fewer, and the extra ones of the other go unpaired
            for combo in zip(*per_part, strict=False)
        ]
        page = "".join(region.part_text(i) for i in range(len(region.parts)))
        best = best_e2e(["".join(texts) for texts in combos] + [page], dates, agree)
        if self.second is not None:
            try:
                best = self._second_opinion(region, best, dates, agree > 1, page, seen)
            except SecondEngineFailed as failed:  # Tesseract's reading stands
                self.second.failed(failed)
        if best is None or len(region.parts) == 1:
            return None if best is None else [best]
        # split as the readings wrapped it (the first reading of the whole id)
        texts = next(
            (t for t in combos if _e2e_shaped("".join(t)) is not None and len("".join(t)) == 32),
            None,
        )
        cut = len(texts[0]) if texts else len(region.part_text(0).replace(" ", ""))
        cut = min(max(cut, 1), 31)
        return [best[:cut], best[cut:]]


def reread(
    page_api: tesserocr.PyTessBaseAPI,
    line_api: tesserocr.PyTessBaseAPI,
    image: Image.Image,
    text: str,
    original: Image.Image | None = None,
    agree: int = 1,
    second: SecondEngine | None = None,
    native: Native | None = None,
    picks: list[tuple[str | None, str | None]] | None = None,
) -> tuple[str, int]:
    """The page text with its id regions read again; and how many were replaced.

    ``page_api`` has just recognised ``image`` (its word boxes are read);
    ``line_api`` reads the regions (page segmentation mode 7, whitelists).
    ``original``: the page before it was despeckled, if it was: end-to-end
    ids are also read from it as it is (cleaning may take the dot of an ``i``).
    ``agree``: readings that must read an end-to-end id whole for it to count
    (see :func:`best_e2e`). ``second``: an engine that reads end-to-end ids
    too (:mod:`.second_engine`), on a coarse page from ``native`` if given.
    ``picks`` gets, per id region of a coarse page, the engines' id and the
    one kept (:func:`~.id_read.settle_coarse`).
    """
    if not text.strip():
        return text, 0
    found = regions(page_words(page_api))[:MAX_REGIONS]
    reader = Reader(line_api, image, original, second)
    reader.native = native
    reader.days = days_on(text)
    dates = dates_on(text)
    replaced = 0
    for region in found:
        if region.kind == "digits":
            found_id = reader.digit_id(region)
            pairs = [] if found_id is None else [found_id]
        else:
            texts = reader.e2e(region, dates, agree) or []
            pairs = [(region.part_text(i), new) for i, new in enumerate(texts)]
        for old, new_text in pairs:
            if old in text and old != new_text:
                text = text.replace(old, new_text, 1)
                replaced += 1
    if picks is not None:
        picks.extend(reader.picks)
    return text, replaced
