"""Label-tolerant search: values printed after (or under) a label.

Receipts print ``Valor: R$ 150,00`` on one line, or the label on one line and
the value under it, or two labelled columns side by side (``Valor   Data``
over ``R$ 150,00   05/12/2026``). :func:`values_after` looks on the label's
own line first, then on the next lines, and on those prefers the value in the
label's column. All searching runs on folded text (see
:func:`~folio_worker_docs.extraction.normalise.fold`); spans index the page's
original text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from folio_worker_docs.extraction.normalise import fold

#: Confidence of a value on its label's line, and under it.
SAME_LINE_CONFIDENCE = 0.95
NEXT_LINE_CONFIDENCE = 0.85


@dataclass(frozen=True)
class Page:
    """One page's text, its folded copy and its 1-based number."""

    number: int
    text: str
    folded: str

    @classmethod
    def of(cls, number: int, text: str) -> Page:
        """A page from its original text."""
        return cls(number=number, text=text, folded=fold(text))

    def line_bounds(self, offset: int) -> tuple[int, int]:
        """Start and end offsets of the line holding ``offset``."""
        start = self.folded.rfind("\n", 0, offset) + 1
        end = self.folded.find("\n", offset)
        return start, len(self.folded) if end < 0 else end

    def next_lines(self, offset: int, count: int) -> Iterator[tuple[int, int]]:
        """Bounds of up to ``count`` non-blank lines after the line holding ``offset``."""
        _, end = self.line_bounds(offset)
        while count > 0 and end < len(self.folded):
            start, end = self.line_bounds(end + 1)
            if self.folded[start:end].strip():
                count -= 1
                yield start, end


@dataclass(frozen=True)
class Hit:
    """A value found after a label: its span in the page, the match, and a confidence."""

    page: Page
    start: int
    end: int
    match: re.Match[str]
    confidence: float
    label_start: int

    @property
    def text(self) -> str:
        """The original text of the value."""
        return self.page.text[self.start : self.end]


def labels(*words: str) -> re.Pattern[str]:
    """A pattern matching any of the (folded, lower-case) label wordings as whole words."""
    alternatives = "|".join(sorted(words, key=len, reverse=True))
    return re.compile(r"(?<![a-z0-9])(?:" + alternatives + r")(?![a-z0-9])")


def values_after(
    page: Page,
    label: re.Pattern[str],
    value: re.Pattern[str],
    *,
    lines_below: int = 2,
    accept: Callable[[re.Match[str]], bool] = lambda _m: True,
) -> list[Hit]:
    """Values matching ``value`` after each occurrence of ``label`` on ``page``.

    One hit per label occurrence: on the label's line after it, else on the
    next ``lines_below`` non-blank lines, the match nearest the label's
    column, unless the label's own cell holds a figure of another kind
    (:func:`_figure_in_cell`).
    """
    hits: list[Hit] = []
    for found in label.finditer(page.folded):
        line_start, line_end = page.line_bounds(found.start())
        same = [m for m in value.finditer(page.folded, found.end(), line_end) if accept(m)]
        if same:
            m = same[0]
            hits.append(Hit(page, m.start(), m.end(), m, SAME_LINE_CONFIDENCE, found.start()))
            continue
        if _figure_in_cell(page, found.end(), line_end):
            continue
        column = found.start() - line_start
        for start, end in page.next_lines(found.end(), lines_below):
            below = [m for m in value.finditer(page.folded, start, end) if accept(m)]
            if below:
                m = _nearest(below, column + start)
                hits.append(Hit(page, m.start(), m.end(), m, NEXT_LINE_CONFIDENCE, found.start()))
                break
    return hits


#: A bracketed qualifier of a label (``Data e hora (GMT-03:00)``, ``Valor
#: pago (1x)``, ``[1 de 1]``): its figures are the label's own, not a value.
_QUALIFIER = re.compile(r"\([^()\n]*\)|\[[^\[\]\n]*\]")


def _figure_in_cell(page: Page, start: int, line_end: int) -> bool:
    """Whether the label's own cell (from ``start`` to a column gap or the
    line's end) prints a figure: that is the label's value, read but not as
    the value sought (a scan's ``CNPJ: 52.431 -515/0001-40``, ``Valor do
    documento 150,00`` for a document number), so the next lines' value
    belongs to another label. Figures in a bracketed qualifier
    (:data:`_QUALIFIER`) do not count: the value is still below."""
    gap = _COLUMN_GAP.search(page.folded, start, line_end)
    cell = _QUALIFIER.sub(" ", page.folded[start : gap.start() if gap else line_end])
    return any(ch.isdigit() for ch in cell)


def _nearest(matches: list[re.Match[str]], offset: int) -> re.Match[str]:
    """The match starting closest to ``offset`` (the label's column on that line)."""
    return min(matches, key=lambda m: abs(m.start() - offset))


#: Text that reads as a name: starts with a letter, letters/digits/punctuation after.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9&'., /()-]*[a-z0-9.)]", re.IGNORECASE)

#: Where a neighbouring column's content starts inside a line (a tax id's
#: label in brackets, ``Editora Sol (CNPJ 11.222...)``, starts one too).
_NEXT_COLUMN = re.compile(
    r"\s+(?=\S*\d[\d.]*[/:-]\d|r\$|\*{3}|\d{1,3}(?:\.\d{3})*,\d{2}(?!\d)"
    r"|[(\[]?\s?(?:cpf|cnpj|data|valor|inscricao|agencia|conta|chave)\b"
    # a dash before a tax id, its dot read with a space after (``- 026. 841.060-70``)
    r"|[-\u2013]\s*\d{2,3}[.,]\s?\d{3})"
)

#: A speck OCR reads between a label and a column gap (``Nome o   Ana Lima``):
#: one or two characters no name is made of, passed over with the gap.
_SPECK_CELL = re.compile(r"\S{1,2}(?=[ \t]*\t|[ \t]{3})[ \t]+")

#: What scans put before a value that is no part of it: a table rule read as
#: ``|``, specks read as quotes, stars or dots.
SPECKS = "|'\"\u201c\u201d\u2018\u2019`*.,;"

#: A bank's compensation code printed before its name (``260 - Nu Pagamentos``,
#: a scan's speck after the dash: ``260 -. Nu Pagamentos``).
_BANK_CODE = re.compile(r"\d{3,8}\s*[-\u2013][\s.]*(?=[a-z])")

#: Gap that separates two columns on one line of extracted text.
_COLUMN_GAP = re.compile(r"\s{3,}|\t|\s\|\s")


def name_after(page: Page, label: re.Pattern[str], stop: re.Pattern[str]) -> list[Hit]:
    """Names after each ``label``: the rest of its line up to a column gap, else the next line.

    ``stop`` matches wordings that are labels themselves (a line starting
    with one is not a name).
    """
    hits: list[Hit] = []
    for found in label.finditer(page.folded):
        line_start, line_end = page.line_bounds(found.start())
        if not _starts_cell(page.folded[line_start : found.start()]):
            continue
        rest_start = _past(page.folded, found.end(), line_end, " :-\t" + SPECKS)
        speck = _SPECK_CELL.match(page.folded, rest_start, line_end)
        rest_start = speck.end() if speck else rest_start
        hit = _name_in(page, rest_start, line_end, stop, SAME_LINE_CONFIDENCE, found.start())
        if hit is None:
            for start, end in page.next_lines(found.end(), 1):
                if found.start() > line_start:  # a label in a row of column headers
                    start, end = _cell_at(page, start, end, found.start() - line_start)
                start = _past(page.folded, start, end, " \t" + SPECKS)
                hit = _name_in(page, start, end, stop, NEXT_LINE_CONFIDENCE, found.start())
        if hit is not None:
            hits.append(hit)
    return hits


def _cell_at(page: Page, start: int, end: int, column: int) -> tuple[int, int]:
    """The cell of the line between ``start`` and ``end`` that starts nearest
    ``column``: under a row of column headers (``Nome   CPF   Instituição``)
    a label's value is the one in its column, not the row's first. A line
    with no column gap is one cell."""
    cells, at = [], start
    for gap in _COLUMN_GAP.finditer(page.folded, start, end):
        cells.append((at, gap.start()))
        at = gap.end()
    cells.append((at, end))
    return min(cells, key=lambda cell: abs(cell[0] - start - column))


def name_on_line(
    page: Page, start: int, end: int, stop: re.Pattern[str], confidence: float
) -> Hit | None:
    """The name that starts the text between ``start`` and ``end`` (a line with
    no label), up to a column gap; ``None`` when it does not read as a name."""
    start = _past(page.folded, start, end, " \t" + SPECKS)
    return _name_in(page, start, end, stop, confidence, start)


def _past(text: str, start: int, end: int, chars: str) -> int:
    """The first offset from ``start`` (before ``end``) whose character is not in ``chars``."""
    while start < end and text[start] in chars:
        start += 1
    return start


def _starts_cell(before: str) -> bool:
    """Whether a label preceded by ``before`` on its line starts a line or a column."""
    return not before.strip(" \t" + SPECKS) or bool(re.search(r"(?:\s{3,}|\t|[|(]\s*)$", before))


def _name_in(
    page: Page, start: int, end: int, stop: re.Pattern[str], confidence: float, label_start: int
) -> Hit | None:
    code = _BANK_CODE.match(page.folded, start, end)
    start = code.end() if code else start
    gap = _COLUMN_GAP.search(page.folded, start, end)
    cut = gap.start() if gap else end
    # text layers often join columns with one space: a name ends where a
    # number with punctuation (an account, a tax id, a date), an amount or a
    # label of the next column begins
    data = _NEXT_COLUMN.search(page.folded, start, cut)
    cut = data.start() if data else cut
    text = page.folded[start:cut]
    if stop.match(text):
        return None
    match = NAME_PATTERN.match(page.folded, start, cut)
    if match is None or sum(ch.isalpha() for ch in match.group()) < 3:
        return None
    if sum(ch.isdigit() for ch in match.group()) > len(match.group()) // 3:
        return None
    return Hit(page, match.start(), match.end(), match, confidence, label_start)
