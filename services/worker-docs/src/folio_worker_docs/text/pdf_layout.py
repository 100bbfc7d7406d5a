"""Paragraphs of a PDF page, recovered from where its lines are printed.

PDFium's page text breaks at every printed line and has no mark where a
paragraph ends, so a PDF's text would have no paragraph boundary for the
chunker to end a chunk at. :func:`page_text` keeps PDFium's text line for
line and inserts a blank line where a paragraph ends, from the lines'
boxes on the page:

- a **gap**: a line sits lower under the previous one than
  :data:`GAP_RATIO` times the page's usual line spacing (its lower
  quartile, each spacing measured in the lower line's font heights, so a
  heading's larger type is not a gap);
- a **jump back up** (a new column, a footer read before the body) or down
  by more than a line beside it: a new block;
- an **indented first line**: a line that starts between
  :data:`INDENT_HEIGHTS` and :data:`MAX_INDENT_HEIGHTS` font heights right
  of the page's usual left edge (the most common), the line after it
  starting at that edge, and the line before it ending :data:`SHORT_END_HEIGHTS` font
  heights short of the page's rightmost line end (a book's paragraphs,
  without space between them; a list's hanging indent, whose wrapped
  lines follow a full line, is not one).

Lines are never joined or reordered: a receipt's label and value lines, a
table's rows stay the lines they are, and removing the blank lines gives
back PDFium's text. A page whose text cannot be matched to its characters'
boxes (characters PDFium's page text leaves out, surrogate pairs), or with
fewer than :data:`MIN_LINES` lines, keeps PDFium's text as it is.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate, pairwise

import pypdfium2 as pdfium

from folio_worker_docs.text.plain import clean_text

#: A spacing this many times the page's usual one ends a paragraph.
GAP_RATIO = 1.3
#: A first line indented by this many font heights (about 1.5 em) or more
#: starts a paragraph.
INDENT_HEIGHTS = 0.75
#: An indent wider than this many font heights is a column, not a first line.
MAX_INDENT_HEIGHTS = 5.0
#: A line ending this many font heights before the rightmost line end is short.
SHORT_END_HEIGHTS = 2.0
#: A line whose left edge is within this many font heights of another's
#: starts at the same edge.
SAME_EDGE_HEIGHTS = 0.2
#: Fewer lines than this on a page: no spacing to compare, text kept as is.
MIN_LINES = 3
_PRINTED = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class _Line:
    left: float
    right: float
    bottom: float
    height: float


def page_text(textpage: pdfium.PdfTextPage) -> str:
    """The page's text (PDFium's, newlines normalised, control characters
    dropped) with a blank line where a paragraph ends."""
    raw = textpage.get_text_bounded()
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    boxes = _line_boxes(textpage, lines)
    if boxes is None:
        return clean_text(raw)
    breaks = paragraph_breaks(boxes)
    out: list[str] = []
    for index, line in enumerate(lines):
        if index in breaks and out and out[-1].strip():
            out.append("")
        out.append(line)
    return clean_text("\n".join(out))


def _line_boxes(textpage: pdfium.PdfTextPage, lines: list[str]) -> list[_Line | None] | None:
    """Each line's box (``None`` for a line without a printed character), or
    ``None`` when the lines cannot be matched to the page's characters."""
    if sum(1 for line in lines if line.strip()) < MIN_LINES:
        return None
    chars = textpage.get_text_range()
    if len(chars) != textpage.count_chars():
        return None
    # the page's printed characters in order (``sequence``), as runs: where
    # each run starts in ``sequence`` and in the page's characters
    runs = [(m.start(), m.end()) for m in _PRINTED.finditer(chars)]
    sequence = "".join(chars[a:b] for a, b in runs)
    starts = list(accumulate((b - a for a, b in runs[:-1]), initial=0))

    def index(at: int) -> int:
        run = bisect_right(starts, at) - 1
        return runs[run][0] + at - starts[run]

    at = 0
    boxes: list[_Line | None] = []
    for line in lines:
        word = "".join(line.split())
        if not word:
            boxes.append(None)
            continue
        found = sequence.find(word, at)
        if found < 0:
            return None
        at = found + len(word)
        left, bottom, _, top = textpage.get_charbox(index(found), loose=True)
        right = textpage.get_charbox(index(at - 1), loose=True)[2]
        boxes.append(_Line(left, right, bottom, top - bottom))
    return boxes


def _quartile(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 4]


def paragraph_breaks(boxes: list[_Line | None]) -> set[int]:
    """Indices of the lines that start a paragraph (see the module docstring)."""
    printed = [(i, box) for i, box in enumerate(boxes) if box is not None and box.height > 0]
    pairs = list(pairwise(printed))
    spacings = [
        (above.bottom - below.bottom) / below.height
        for (_, above), (_, below) in pairs
        if above.bottom - below.bottom > below.height / 2
    ]
    if not spacings:
        return set()
    usual = _quartile(spacings)
    right = max(box.right for _, box in printed)
    left = Counter(round(box.left) for _, box in printed).most_common(1)[0][0]
    breaks: set[int] = set()
    for k, ((_, above), (index, line)) in enumerate(pairs):
        drop = (above.bottom - line.bottom) / line.height
        below = printed[k + 2][1] if k + 2 < len(printed) else None
        gap = drop < -0.5 or drop > usual * GAP_RATIO
        if gap or (drop > 0.5 and _first_line(above, line, below, left, right)):
            breaks.add(index)
    return breaks


def _first_line(above: _Line, line: _Line, below: _Line | None, left: float, right: float) -> bool:
    """``line`` is a paragraph's indented first line (module docstring):
    ``left`` is the page's usual left edge, ``right`` its rightmost line end."""
    indent = (line.left - left) / line.height
    if not INDENT_HEIGHTS <= indent <= MAX_INDENT_HEIGHTS:
        return False
    if right - above.right < SHORT_END_HEIGHTS * line.height:
        return False
    return below is None or abs(below.left - left) <= SAME_EDGE_HEIGHTS * line.height
