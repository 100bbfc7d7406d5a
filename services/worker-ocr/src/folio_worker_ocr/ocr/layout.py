"""Key/value columns read row by row.

Receipts and forms print labels in one column and values in another
(``Nome      Ana Souza``). Tesseract's page layout analysis often makes two
blocks of them, and its text lists every label, then every value: what a
label says is lost. :func:`rows_text` finds a block whose lines sit each
beside a short line of a block to its left (a label column) and puts each
value after its label on one line, separated by a tab, as a text layer
keeps a row. Pages without such columns (prose, single-column receipts,
newspaper columns of long lines) keep Tesseract's text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import tesserocr

#: Longest line (characters) taken for a label of a key/value column.
MAX_LABEL_CHARS = 28
#: Fewest rows two blocks must share to be read as key/value columns.
MIN_ROWS = 2
#: How far apart (in line heights) the left edges of labels in different
#: blocks may be and still be read as one column of labels.
COLUMN_SLACK = 2.0


@dataclass(frozen=True)
class Line:
    """A text line Tesseract found: its text, box ``(left, top, right, bottom)`` and block."""

    text: str
    box: tuple[int, int, int, int]
    block: int


def page_lines(api: tesserocr.PyTessBaseAPI) -> list[Line]:
    """The text lines of the page just recognised by ``api``, in Tesseract's
    order; their boxes levelled by the page's skew (the median slope of the
    long lines' baselines), so that rows compare across a tilted page."""
    found: list[tuple[str, tuple[int, int, int, int], int]] = []
    slopes: list[float] = []
    iterator = api.GetIterator()
    if iterator is None:
        return []
    block = -1
    level = tesserocr.RIL.TEXTLINE
    for item in tesserocr.iterate_level(iterator, level):
        if item.IsAtBeginningOf(tesserocr.RIL.BLOCK) or block < 0:
            block += 1
        try:
            text = item.GetUTF8Text(level).strip()
        except RuntimeError:  # an empty block ("No text returned")
            continue
        box = item.BoundingBox(level)
        if not text or box is None:
            continue
        found.append((text, tuple(box), block))
        baseline = item.Baseline(level)
        if baseline and box[2] - box[0] > 4 * (box[3] - box[1]):
            (x1, y1), (x2, y2) = baseline
            if x2 != x1:
                slopes.append((y2 - y1) / (x2 - x1))
    slope = sorted(slopes)[len(slopes) // 2] if slopes else 0.0
    lines = []
    for text, (left, top, right, bottom), number in found:
        shift = round(slope * (left + right) / 2)
        lines.append(Line(text, (left, top - shift, right, bottom - shift), number))
    return lines


def _beside(label: Line, value: Line) -> bool:
    """``label`` ends left of ``value`` and the two share most of their height."""
    overlap = min(label.box[3], value.box[3]) - max(label.box[1], value.box[1])
    height = min(label.box[3] - label.box[1], value.box[3] - value.box[1])
    return label.box[2] < value.box[0] and height > 0 and overlap >= 0.5 * height


def _label_column(lines: list[Line], block: int) -> bool:
    """Whether ``block`` is a column of labels: at least :data:`MIN_ROWS`
    lines, each at most :data:`MAX_LABEL_CHARS` long."""
    texts = [line.text for line in lines if line.block == block]
    return len(texts) >= MIN_ROWS and all(len(text) <= MAX_LABEL_CHARS for text in texts)


def _one_column(labels: list[Line]) -> bool:
    """Whether ``labels`` are one block, or stack in one column (left edges
    within :data:`COLUMN_SLACK` line heights): Tesseract splits a column of
    labels into blocks where a line is lost or a section starts."""
    if len({line.block for line in labels}) == 1:
        return True
    height = max(line.box[3] - line.box[1] for line in labels)
    lefts = [line.box[0] for line in labels]
    return max(lefts) - min(lefts) <= COLUMN_SLACK * height


def _partners(lines: list[Line]) -> dict[int, int]:
    """For each line of a value block, the index of its label line (value → label)."""
    out: dict[int, int] = {}
    sizes = Counter(line.block for line in lines)
    for block in sorted(sizes):
        found: dict[int, int] = {}
        for i, value in enumerate(lines):
            if value.block != block:
                continue
            labels = [
                j
                for j, label in enumerate(lines)
                if label.block != block and j not in out and _beside(label, value)
            ]
            if labels:
                found[i] = max(labels, key=lambda j: lines[j].box[2])
        chosen = [lines[j] for j in found.values()]
        # a value alone in its block counts when its label is in a column of
        # labels (finer pages often put each value in a block of its own)
        alone = sizes[block] == 1 and bool(chosen) and _label_column(lines, chosen[0].block)
        if (
            (len(found) >= MIN_ROWS or alone)
            and _one_column(chosen)
            and all(len(line.text) <= MAX_LABEL_CHARS for line in chosen)
            and all(lines[j].block not in {lines[v].block for v in out} for j in found.values())
        ):
            out.update(found)
    return out


def rows_text(lines: list[Line]) -> str | None:
    """The page's text with key/value columns joined row by row (label, tab,
    value), blocks separated by a blank line; ``None`` when the page has no
    such columns (keep Tesseract's own text)."""
    partners = _partners(lines)
    if not partners:
        return None
    by_label: dict[int, list[int]] = {}
    for value, label in partners.items():
        by_label.setdefault(label, []).append(value)
    merged_blocks = {lines[v].block for v in partners}
    # a value line with no label beside it follows the label row above it
    after: dict[int, list[int]] = {}
    for i, line in enumerate(lines):
        if line.block in merged_blocks and i not in partners:
            above = [j for j in by_label if lines[j].box[1] <= line.box[1]]
            anchor = max(above, key=lambda j: lines[j].box[1]) if above else min(by_label)
            after.setdefault(anchor, []).append(i)
    out: list[str] = []
    block = None
    for i, line in enumerate(lines):
        if line.block in merged_blocks:
            continue
        if block is not None and line.block != block:
            out.append("")
        block = line.block
        values = sorted(by_label.get(i, []), key=lambda v: lines[v].box[0])
        out.append("\t".join([line.text, *(lines[v].text for v in values)]))
        out.extend(lines[v].text for v in after.get(i, []))
    return "\n".join(out) + "\n"
