"""Letter case and look-alikes of a PIX end-to-end id's tail settled by
measuring the glyphs in the image, where the two OCR engines disagree.

Tesseract and PP-OCR often read the same id but for the case of a letter
whose two cases share a shape (``x``/``X``, ``o``/``O``, ``v``/``V``), a
round glyph (``o``/``O``/``0``) or a stroke (``i``/``l``/``I``). In any
typeface the lower case of such a letter is as tall as the x-height, well
under the capitals' and digits' height, and an ``i`` is an x-height stem
under a dot. So :func:`settle` measures, in each of Tesseract's readings of
the id (the upscaled variant images and the symbol boxes it read there,
:class:`Sighting`), the ink height of each glyph where the engines differ,
as a share of the height of the glyphs that are surely tall (digits,
capitals and ascenders read the same as the id) in the same image, and
takes the median over the readings:

- under :data:`SMALL_HEIGHT`: lower case (``o`` for a round glyph; ``i``
  for a stroke with ink above it, its dot);
- else the capital, or, for a round glyph, ``O`` when it is wider than the
  line's digits by :data:`WIDE`, else ``0``; and a stroke read ``i`` by
  one engine is the other engine's ``l``/``I``;
- ``L`` or a stroke (``l``/``I``): ``L`` when wider than :data:`L_WIDTH`
  of a digit.

Only characters the two engines read differently are looked at, and only
when at least :data:`MIN_SIGHTINGS` readings measured them.

``I`` and ``l`` are one bare stem in many sans typefaces (Helvetica,
Arial), so where the engines agree on the wrong one nothing above helps.
:func:`by_tail_case` breaks that tie with the case of the tail's other
letters when they are all one case (many banks print such tails), and
only where the glyph's measures do not mark it (a serif, a dot, a ``1``'s
flag).
"""

from __future__ import annotations

import statistics
import string
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

import numpy as np
from PIL import Image

from folio_worker_ocr.ocr.variants import otsu

#: Height, as a share of the tall glyphs' height, under which a glyph is lower case.
SMALL_HEIGHT = 0.9
#: Width, as a share of the line's digits' width, over which a round glyph is ``O``.
WIDE = 1.22
#: Width, as a share of the digits' width, over which a stroke-like glyph is ``L``.
L_WIDTH = 0.6
#: Fewest readings that must have measured a glyph for it to be settled.
MIN_SIGHTINGS = 2
#: Fewest surely tall glyphs in an image for their height to be a measure.
MIN_TALL = 4
#: Most characters a reading may have lost at the id's start and still line up.
MAX_LOST = 2
#: Where the unchecked tail of an end-to-end id starts.
TAIL = 21
#: From where a reading must line up with the id (its minutes, hour and
#: day, then the tail; a reading of a wrapped id may garble its first line).
ALIGN_FROM = TAIL - 8
#: Most characters from :data:`ALIGN_FROM` on a reading may read otherwise.
MAX_MISMATCHES = 4
#: Letters whose lower case is the upper case, smaller (and ``0`` with ``o``).
_SAME_SHAPE = frozenset("cosuvwxz")
_ROUND = frozenset("oO0")
_STROKES = frozenset("ilIL")
#: The strokes one sans glyph prints in both cases (:func:`by_tail_case`),
#: and what a reading may read for them.
_BARE_STEMS = frozenset("Il")
_STROKE_READS = frozenset("Il1i")
#: Width, as a share of the digits' width, up to which a tall glyph is a bare
#: stem (``I``/``l`` measured 0.20-0.33 on generated scans, a ``1`` with its
#: flag 0.50-0.65).
STEM_WIDTH = 0.42
#: Letters whose two cases differ in shape: the case of a tail
#: (:func:`tail_case`) is read from them.
_CASE_EVIDENCE = (
    frozenset(string.ascii_letters) - _BARE_STEMS - _SAME_SHAPE - {c.upper() for c in _SAME_SHAPE}
)
#: Fewest such letters, all one case, for a tail to count as one case.
MIN_CASE_LETTERS = 2
#: Characters as tall as the capitals in about every typeface.
_TALL = frozenset("0123456789ABDEFGHJKLMNPQRTY" + "bdfhklt")

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Sighting:
    """One reading of an id: per printed line of it (one, or two for a
    wrapped id), the image read and, in reading order, each symbol Tesseract
    read there with its box ``(left, top, right, bottom)``."""

    parts: tuple[tuple[Image.Image, tuple[tuple[str, Box], ...]], ...]


@dataclass(frozen=True)
class _Glyph:
    height: float  # as a share of the tall glyphs' height
    width: float | None  # as a share of the digits' width
    dot: bool  # ink just above the glyph, apart from it


def _runs(rows: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate(([0], rows.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L")) <= otsu(image.convert("L"))


def _measure(ink: np.ndarray, box: Box, middle: int) -> tuple[int, int, bool] | None:
    """Ink height and width of the glyph in ``box`` (its rows, a little
    margin: specks and a neighbour's overhang out of them) whose rows cross
    row ``middle``, and whether ink sits just above it, apart (a dot)."""
    left, top, right, bottom = box
    top = max(0, top - 2)
    glyph = ink[top : bottom + 3, max(0, left) : right + 1]
    rows = [(a + top, b + top) for a, b in _runs(np.asarray(glyph.any(axis=1)))]
    hit = [r for r in rows if r[0] <= middle < r[1]]
    if not hit:
        return None
    start, end = hit[0]
    dot = any(b <= start and start - b <= 0.6 * (end - start) for _, b in rows)
    columns = np.flatnonzero(ink[start:end, max(0, left) : right + 1].any(axis=0))
    width = int(columns[-1] - columns[0] + 1) if columns.size else 0
    return end - start, width, dot


def _aligned(sighting: Sighting, reads: Sequence[str]) -> dict[int, tuple[str, Box, int]]:
    """The symbols of ``sighting`` (with the index of the part each is in) by
    the place in the id they line up with, best over the engines' ``reads``
    of it and over offsets (a reading may have lost the id's first
    characters); none if they differ from :data:`ALIGN_FROM` on in more
    than :data:`MAX_MISMATCHES` places."""
    symbols = [
        (text, box, part)
        for part, (_, found) in enumerate(sighting.parts)
        for text, box in found
        if len(text) == 1 and text.isalnum()
    ]
    size = len(reads[0])
    best: tuple[int, int] = (0, 0)
    for offset in range(-MAX_LOST, len(symbols) - size + 1):
        for value in reads:
            same = sum(
                symbols[i + offset][0] == value[i]
                for i in range(ALIGN_FROM, size)
                if 0 <= i + offset < len(symbols)
            )
            best = max(best, (same, offset))
    if best[0] < size - ALIGN_FROM - MAX_MISMATCHES:
        return {}
    offset = best[1]
    return {i: symbols[i + offset] for i in range(size) if 0 <= i + offset < len(symbols)}


def _glyphs(sighting: Sighting, reads: Sequence[str], places: set[int]) -> dict[int, _Glyph]:
    """The glyphs at ``places`` of the id (``reads``: the engines' readings
    of it, the one kept first) as measured in one reading."""
    symbols = _aligned(sighting, reads)
    if not symbols:
        return {}
    inks = [_ink(image) for image, _ in sighting.parts]
    tall: list[tuple[str, Box, int, tuple[int, int, bool]]] = []
    for i, (text, box, part) in symbols.items():
        if i and text in _TALL and all(read[i] == text for read in reads):
            found = _measure(inks[part], box, (box[1] + box[3]) // 2)
            if found is not None:
                tall.append((text, box, part, found))
    if len(tall) < MIN_TALL:
        return {}
    overall = statistics.median(t[3][0] for t in tall)
    digits = [t[3][1] for t in tall if t[0].isdigit()]
    width = statistics.median(digits) if len(digits) >= MIN_TALL else None
    out = {}
    for i in places & symbols.keys():
        _, box, part = symbols[i]
        near = sorted((t for t in tall if t[2] == part), key=lambda t: abs(t[1][0] - box[0]))[:3]
        if not near:
            continue
        own = [t[3][0] for t in tall if t[2] == part]
        height = statistics.median(own) if len(own) >= MIN_TALL - 1 else overall
        middle = int(statistics.median(t[1][3] for t in near) - 0.3 * height)
        found = _measure(inks[part], box, middle)
        if found is not None:
            out[i] = _Glyph(found[0] / height, found[1] / width if width else None, found[2])
    return out


def _decide(read: str, others: set[str], seen: list[_Glyph]) -> str:
    """The character of a glyph ``read`` as ``read`` in the id kept and as
    ``others`` by the other readings, from its measures ``seen``."""
    height = statistics.median(g.height for g in seen)
    widths = [g.width for g in seen if g.width is not None]
    width = statistics.median(widths) if widths else None
    small = height < SMALL_HEIGHT
    pair = others | {read}
    if pair <= _ROUND:
        return "o" if small else ("O" if width is not None and width > WIDE else "0")
    if len({c.lower() for c in pair}) == 1 and read.lower() in _SAME_SHAPE:
        return read.lower() if small else read.upper()
    if pair <= _STROKES:
        if small:
            return "i" if sum(g.dot for g in seen) * 2 > len(seen) else read
        if "L" in pair and width is not None:
            return "L" if width > L_WIDTH else next(iter(sorted(pair - {"L", "i"})), read)
        if read == "i":
            return next(iter(sorted(pair - {"L", "i"})), read)
    return read


def _seen(
    value: str, others: Sequence[str], sightings: Sequence[Sighting], places: set[int]
) -> dict[int, list[_Glyph]]:
    seen: dict[int, list[_Glyph]] = {}
    for sighting in sightings:
        for i, glyph in _glyphs(sighting, [value, *others], places).items():
            seen.setdefault(i, []).append(glyph)
    return seen


def settle(value: str, others: Sequence[str], sightings: Sequence[Sighting]) -> str:
    """``value`` (the end-to-end id kept) with each tail character that one
    of ``others`` (the engines' other readings of it) reads differently
    settled by the glyph's measures in ``sightings`` (see the module)."""
    others = [o for o in others if len(o) == len(value) and o != value]
    places = {i for i in range(TAIL, len(value)) for o in others if o[i] != value[i]}
    if not places:
        return value
    chars = list(value)
    for i, glyphs in _seen(value, others, sightings, places).items():
        if len(glyphs) >= MIN_SIGHTINGS:
            chars[i] = _decide(value[i], {o[i] for o in others}, glyphs)
    return "".join(chars)


def tail_case(value: str, skip: Set[int] = frozenset()) -> str | None:
    """``"upper"`` or ``"lower"`` when every letter of the id's tail (but
    those at ``skip``) is of that case and at least :data:`MIN_CASE_LETTERS`
    of them are letters whose two cases differ in shape; else ``None`` (a
    ``V`` or ``W`` as read in a tail of lower-case letters says it mixes
    both)."""
    letters = [c for i, c in enumerate(value[TAIL:], TAIL) if i not in skip and c.isalpha()]
    if sum(c in _CASE_EVIDENCE for c in letters) < MIN_CASE_LETTERS:
        return None
    if all(c.isupper() for c in letters):
        return "upper"
    return "lower" if all(c.islower() for c in letters) else None


def _marked(glyphs: Sequence[_Glyph]) -> bool:
    """Whether a stroke measured as many times as :data:`MIN_SIGHTINGS`
    tells itself from a bare ``I``/``l`` stem: shorter than the capitals (an
    ``i``, or a speck), or wider than :data:`L_WIDTH` of a digit (a serifed
    ``I``, an ``L``). One measure alone may be of a box run on past the
    glyph (the line's last one)."""
    if len(glyphs) < MIN_SIGHTINGS:
        return False
    if statistics.median(g.height for g in glyphs) < SMALL_HEIGHT:
        return True
    widths = [g.width for g in glyphs if g.width is not None]
    return bool(widths) and statistics.median(widths) > L_WIDTH


def _stem(glyphs: Sequence[_Glyph]) -> bool:
    """Whether a glyph measured as many times as :data:`MIN_SIGHTINGS` is a
    bare stem: as tall as the capitals, no dot above, no wider than
    :data:`STEM_WIDTH` of a digit."""
    widths = [g.width for g in glyphs if g.width is not None]
    return (
        len(glyphs) >= MIN_SIGHTINGS
        and statistics.median(g.height for g in glyphs) >= SMALL_HEIGHT
        and sum(g.dot for g in glyphs) * 2 <= len(glyphs)
        and bool(widths)
        and statistics.median(widths) <= STEM_WIDTH
    )


def by_tail_case(value: str, others: Sequence[str], sightings: Sequence[Sighting]) -> str:
    """``value`` with its tail's strokes read as ``I`` or ``l`` in the case
    of the tail's other letters (:func:`tail_case`), a tie-breaker where the
    glyph does not decide: in many sans typefaces (Helvetica, Arial) the two
    are one bare stem, so no reading tells them apart, and many banks print
    one-case tails.

    - An ``I`` or ``l`` takes the tail's case unless its measures in
      ``sightings`` mark it (:func:`_marked`: a serif, an ``i``'s height).
    - An ``i`` or ``1`` that measures as a bare stem (:func:`_stem`: no dot,
      no ``1``'s flag) takes the tail's case, or else the one of ``I``/``l``
      that ``others`` (the engines' other readings) read there.

    A tail whose letters mix both cases gives no case: its ``I`` and ``l``
    stay as read."""
    places = {i for i in range(TAIL, len(value)) if value[i] in _STROKE_READS}
    if not places:
        return value
    others = [o for o in others if len(o) == len(value)]
    return tail_cased(value, others, _seen(value, others, sightings, places))


def tail_cased(value: str, others: Sequence[str], seen: Mapping[int, Sequence[_Glyph]]) -> str:
    """:func:`by_tail_case` with the glyphs' measures ``seen`` by place."""
    places = {i for i in range(TAIL, len(value)) if value[i] in _STROKE_READS}
    # a dotted i is a lower-case letter; one that measures as a stem is not
    stems = {i for i in places if value[i] in _BARE_STEMS or _stem(seen.get(i, []))}
    case = tail_case(value, stems)
    want = None if case is None else ("I" if case == "upper" else "l")
    chars = list(value)
    for i in places:
        glyphs = seen.get(i, [])
        if value[i] in _BARE_STEMS:
            if want is not None and not _marked(glyphs):
                chars[i] = want
        elif _stem(glyphs):
            read = {o[i] for o in others if len(o) == len(value)} & _BARE_STEMS
            chars[i] = want or (read.pop() if len(read) == 1 else value[i])
    return "".join(chars)
