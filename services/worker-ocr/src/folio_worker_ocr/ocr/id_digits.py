"""Digit-group identifiers in a line's reading: boleto digitable lines and
NF-e access keys, printed in groups (:mod:`folio_worker_ocr.ocr.reread`
reads their regions again and keeps a valid window of groups)."""

from __future__ import annotations

from dataclasses import dataclass

from folio_shared.identifiers import DIGIT_LOOKALIKES, digitable_line_valid, nfe_key_valid
from folio_worker_ocr.ocr.id_regions import Word

#: Lengths of the digit-group ids: NF-e key, bank boleto line, arrecadação line.
DIGIT_ID_LENGTHS = (44, 47, 48)


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


def valid_digit_id(reading: str) -> str | None:
    """The digits of :func:`digit_window` of ``reading``, or ``None``."""
    window = digit_window(reading)
    return None if window is None else window.digits


def aligned(words: tuple[Word, ...], before: int, size: int) -> str:
    """The page words holding digits ``before:before + size`` of the run (by digit counts)."""
    counts = [sum(c.isdigit() for c in w.text.translate(DIGIT_LOOKALIKES)) for w in words]
    edges = [sum(counts[:i]) for i in range(len(words) + 1)]
    first = min(range(len(words)), key=lambda i: abs(edges[i] - before))
    last = min(range(first + 1, len(words) + 1), key=lambda i: abs(edges[i] - before - size))
    return " ".join(w.text for w in words[first:last])
