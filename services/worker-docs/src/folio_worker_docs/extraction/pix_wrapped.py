"""PIX end-to-end ids printed over two or three lines.

Bank apps and narrow PDFs wrap the 32-character id anywhere, sometimes with
a hyphen at the break; OCR adds spaces inside the pieces. A head (``E`` and
what follows it to the end of its line) and the whole tokens that start the
next lines (no blank line between, :data:`MAX_BLANKS`) are joined when together
they make exactly 32 characters, and the join is kept only when it is an id
by every check the shape allows: the shape itself (look-alikes repaired
where a digit must be), a real embedded date-time within
:data:`E2E_DATE_SLACK` of a date-time the page prints (when it prints one),
and the ISPB of a listed institution
(:func:`~folio_shared.identifiers.e2e_ispb_known`). A piece that is a valid
CPF or CNPJ on its own is another field, never an id's tail. Codes that
only sit on adjacent lines (an authentication code, a boleto line, a tax
id, another id) fail one of these checks.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from folio_shared.identifiers import (
    cnpj_valid,
    cpf_valid,
    e2e_date,
    e2e_ispb_known,
    e2e_valid,
    repair_e2e,
)

#: Farthest an end-to-end id's embedded date-time (UTC) may be from the
#: payment's printed one (local time, Brazil is UTC-3 to UTC-5) and agree.
E2E_DATE_SLACK = timedelta(hours=30)
#: Where a head may start: an ``E`` (or OCR's ``e``/``€``) not inside a word.
_HEAD = re.compile(r"(?<![A-Za-z0-9])[Ee€]")
#: A piece's token: the characters an id (or OCR's reading of one) is made of.
_TOKEN = re.compile(r"[0-9A-Za-z|!]+")
#: Lines an id may span, and blank lines allowed between two of its pieces.
#: None: a blank line between two pieces is the page OCR's layout of a line
#: it read apart, and on generated 110-dpi photos the only such joins (2 of
#: 124 receipts) had misread tails (docs/benchmarks.md); worker-ocr's
#: targeted reading writes an id it vouches for whole.
MAX_LINES = 3
MAX_BLANKS = 0


@dataclass(frozen=True)
class Joined:
    """An id read from pieces on several lines: ``raw`` as printed (32
    characters), ``start``/``end`` its span in the page text."""

    raw: str
    start: int
    end: int


def near_any(value: str, moments: list[str]) -> bool:
    """Whether the id's embedded date-time is within :data:`E2E_DATE_SLACK`
    of one of ``moments`` (ISO date-times)."""
    embedded = e2e_date(value)
    if embedded is None:
        return False
    for moment in moments:
        with contextlib.suppress(ValueError):
            if abs(embedded - datetime.fromisoformat(moment)) <= E2E_DATE_SLACK:
                return True
    return False


def _head(text: str, start: int, end: int) -> str | None:
    """The characters of the tokens from ``start`` to the end of its line
    (``end``), a hyphen at the break left out; ``None`` if one is not
    id-shaped."""
    words = text[start:end].rstrip().rstrip("-\u00ad").split()
    if not all(_TOKEN.fullmatch(w) for w in words):
        return None
    return "".join(words)


def _lines_after(text: str, offset: int) -> Iterator[tuple[int, int]]:
    """The non-blank lines after the line holding ``offset`` (start, end),
    stopping at more than :data:`MAX_BLANKS` blank lines in a row."""
    blanks = 0
    end = text.find("\n", offset)
    while end != -1:
        start, end = end + 1, text.find("\n", end + 1)
        stop = len(text) if end == -1 else end
        if not text[start:stop].strip():
            blanks += 1
            if blanks > MAX_BLANKS:
                return
            continue
        blanks = 0
        yield start, stop


def _tail(text: str, line: tuple[int, int], need: int) -> tuple[str, int] | None:
    """The leading tokens of ``line`` that add up to at most ``need``
    characters, with their end offset; ``None`` when a token is not
    id-shaped or would overshoot, or when what follows the last one on its
    line is not set apart (two spaces or a tab: another column)."""
    start, stop = line
    words = list(re.finditer(r"\S+", text[start:stop]))
    taken = ""
    for i, word in enumerate(words):
        value = word.group()
        if i == len(words) - 1:
            value = value.rstrip("-\u00ad")  # the break's hyphen
        if not _TOKEN.fullmatch(value) or len(taken) + len(value) > need:
            return None
        taken += value
        if len(taken) == need:
            rest = text[start + word.end() : stop]
            if rest.strip() and not rest.startswith(("  ", "\t")):
                return None
            break
    return taken, start + word.start() + len(value)


def _join(text: str, head: int) -> Joined | None:
    """The id whose head starts at ``head``, joined with the next lines."""
    line_end = text.find("\n", head)
    if line_end == -1:
        return None
    raw = _head(text, head, line_end)
    if raw is None or len(raw) >= 32:
        return None
    lines = 1
    for line in _lines_after(text, head):
        tail = _tail(text, line, 32 - len(raw))
        if tail is None:
            return None
        piece, end = tail
        if piece.isdigit() and (cpf_valid(piece) or cnpj_valid(piece)):
            return None
        raw, lines = raw + piece, lines + 1
        if len(raw) == 32:
            return Joined(raw, head, end)
        if lines >= MAX_LINES:
            return None
    return None


def wrapped_ids(text: str, moments: Callable[[], list[str]]) -> list[tuple[Joined, str]]:
    """Ids wrapped over lines: each as read and as repaired, kept only when
    every check of the module's rule holds (``moments``: the page's printed
    date-times, asked for only when a join has the id's shape)."""
    out = []
    for m in _HEAD.finditer(text):
        joined = _join(text, m.start())
        if joined is None:
            continue
        fixed = repair_e2e(joined.raw)
        if fixed is None or not e2e_valid(fixed) or not e2e_ispb_known(fixed):
            continue
        printed = moments()
        if printed and not near_any(fixed, printed):
            continue
        out.append((joined, fixed))
    return out
