"""Normalisers: amounts, dates and date-times as printed on Brazilian documents.

Each ``parse_*`` takes the printed text and returns the normalised value, or
``None`` when the text is not one: amounts ``"1234.56"``, dates
``YYYY-MM-DD``, date-times ``YYYY-MM-DDTHH:MM``. The ``*_PATTERN`` regexes
find candidates in a page (they run on accent-folded, lower-cased text, see
:func:`fold`).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from folio_shared.months import (
    MONTH_FIRST_DATE_SOURCE,
    SPELLED_DATE_SOURCE,
    fold,
    spelled_date,
)

__all__ = [
    "AMOUNT_PATTERN",
    "DATE_PATTERN",
    "TIME_PATTERN",
    "date_from_match",
    "fold",
    "parse_amount",
    "parse_date",
    "parse_datetime",
    "tidy_name",
    "time_after",
    "twelve_hour",
]

#: An amount: optional ``R$``, digits with ``.``/``,``/space thousands, two decimals.
#: OCR specks are allowed where scans put them: a ``.`` or ``:`` after ``R$``,
#: a ``;`` for the decimal comma, a ``:`` for a thousands dot (its lower dot
#: doubled by noise: ``13:322,56``). Apps also print whole amounts without
#: cents (``R$ 1.000``, ``R$ 50``): only after ``R$`` (group 3), with ``.``
#: thousands, and never where a letter, a digit or a mark with more after it
#: follows (``R$ 85,5``, a scan's ``R$ 1234 56``, ``R$ 1.234,S6`` or ``R$
#: 12O,00`` name no amount one could be sure of).
AMOUNT_PATTERN = re.compile(
    r"(?<![\d.,])(?:r\s?\$[\s.:]*)?-?(\d{1,3}(?:[.,:\s]\d{3})+|\d+)\s?[.,;]\s?(\d{2})(?![\d])"
    r"|(?<![\d.,])r\s?\$\s?(\d{1,3}(?:\.\d{3})+|\d{1,7})(?![\da-z]|\s?[.,;:]\s?\S|\s+\d)"
)

#: A numeric date, day first (``05/12/2026``, ``05.12.26``) or ISO
#: (``2026-12-05``), or a spelled one, day first (``5 dez 2026``, ``5 de
#: dezembro de 2026``, ``05/dez/2026``) or month first as English prints it
#: (``Dec 5, 2026``, ``December 5, 2026``). A numeric date is always read
#: day first (``05/12/2026`` is 5 December), as Brazil prints it.
DATE_PATTERN = re.compile(
    r"(?<!\d)(?:"
    r"(?P<d>\d{1,2})\s?[/.-]\s?(?P<m>\d{1,2})\s?[/.-]\s?(?P<y>\d{4}|\d{2})"
    r"|(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})"
    r"|" + SPELLED_DATE_SOURCE + "|" + MONTH_FIRST_DATE_SOURCE + r")(?!\d)"
)

#: ``AM``/``PM`` after a time (``2:32 PM``, ``2:32pm``, ``2:32 p.m.``): group 1 is ``a`` or ``p``.
MERIDIEM = r"(?:\s?([ap])\.?\s?m\b\.?)?"
#: A time after a date: ``14:32``, ``14h32``, ``14:32:10``, ``2:32 PM``,
#: optionally led by ``às``/``at``/``-``/``,``/a bullet, or by the ``T`` of
#: an ISO date-time.
TIME_PATTERN = re.compile(
    r"^[\s,\-\u2013\u2014\u2022\u00b7|]*(?:as\s+|a\s+|at\s+|-\s*|t)?"
    r"(\d{1,2})\s?[:h]\s?(\d{2})(?::\d{2})?" + MERIDIEM
)


def parse_amount(text: str) -> str | None:
    """``"1234.56"`` from ``R$ 1.234,56``, ``1234,56``, ``1,234.56``, ``R$1 234,56``."""
    match = AMOUNT_PATTERN.search(fold(text))
    if match is None:
        return None
    if match.group(3) is not None:
        whole, cents = match.group(3).replace(".", ""), "00"
    else:
        whole, cents = re.sub(r"[.,:\s]", "", match.group(1)), match.group(2)
    try:
        value = Decimal(f"{whole}.{cents}")
    except InvalidOperation:
        return None
    return f"{value:.2f}"


def _make_date(year: int, month: int, day: int) -> str | None:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def date_from_match(match: re.Match[str]) -> str | None:
    """The ISO date of a :data:`DATE_PATTERN` match, ``None`` if no such day."""
    if match.group("d"):
        return _make_date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
    if match.group("iy"):
        return _make_date(int(match.group("iy")), int(match.group("im")), int(match.group("id")))
    parts = ("sd", "sm", "sy") if match.group("sd") else ("ed", "em", "ey")
    day = spelled_date(*match.group(*parts))
    return None if day is None else day.isoformat()


def parse_date(text: str) -> str | None:
    """``YYYY-MM-DD`` from ``05/12/2026``, ``5 dez 2026``, ``5 de dezembro de 2026``,
    ``Dec 5, 2026`` ..."""
    for match in DATE_PATTERN.finditer(fold(text)):
        value = date_from_match(match)
        if value is not None:
            return value
    return None


def time_after(folded: str, end: int) -> tuple[str, int] | None:
    """``("HH:MM", end)`` for a time right after offset ``end`` (same line), else ``None``."""
    line_end = folded.find("\n", end)
    match = TIME_PATTERN.match(folded[end : len(folded) if line_end < 0 else line_end])
    if match is None:
        return None
    hour = twelve_hour(int(match.group(1)), match.group(3))
    minute = int(match.group(2))
    if hour is None or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}", end + match.end()


def twelve_hour(hour: int, meridiem: str | None) -> int | None:
    """The hour (0-23) of ``hour`` printed with ``meridiem`` (``"a"``,
    ``"p"``: AM, PM; ``None``: a 24-hour clock); ``None`` when the hour is
    past 23; an hour past 12 is read as printed, its ``AM``/``PM`` a
    redundant mark (``13:00 PM``)."""
    if hour > 23:
        return None
    if meridiem is None or hour > 12:
        return hour
    return hour % 12 + (12 if meridiem == "p" else 0)


def parse_datetime(text: str) -> str | None:
    """``YYYY-MM-DDTHH:MM`` from ``05/12/2026 14:32``, ``5 dez 2026 às 14:32``
    or ``December 5, 2026 2:32 PM``."""
    folded = fold(text)
    for match in DATE_PATTERN.finditer(folded):
        day = date_from_match(match)
        clock = time_after(folded, match.end())
        if day is not None and clock is not None:
            return f"{day}T{clock[0]}"
    return None


#: A name ending in an abbreviation whose final dot belongs to it.
_ABBREVIATED_END = re.compile(r"(?:\bS\.\s?A|\bS/A|\bLtda|\bCia|\bJr|\bFilho|\bME|\bEPP)\.$", re.I)
#: A table's rule after a name, read as a lower-case ``l``, ``i`` or a bar
#: (``Livraria Nova Ltda l``): no name ends in such a one-letter word.
_RULE_AT_END = re.compile(r"(?<=[A-Za-zÀ-ÿ.]{2})\s+[li|]$")
#: A speck between a word and the next (``Preço.S.A.``, ``Auto'Peças``).
_SPECK_BETWEEN = re.compile("(?<=[a-zà-ÿ])[.'`\u00b4](?=[A-ZÀ-Þ])")


def tidy_name(text: str) -> str:
    """A name as printed, less what OCR adds or loses around it: trailing
    specks (``Paulo Martins.``, ``Oficina Ltda ..``) and a table's rule
    read as a letter (``Livraria Nova Ltda l``) but not an
    abbreviation's dot (``S.A.``), a speck glued between two words, and
    ``S.A`` / ``SA.`` / ``Lida`` ending a company name (``S.A.``, ``Ltda``)."""
    text = _SPECK_BETWEEN.sub(" ", text.strip())
    text = _RULE_AT_END.sub("", text)
    while text and text[-1] in ".,:;'`\u00b4" and not _ABBREVIATED_END.search(text):
        text = text[:-1].rstrip()
    if " " in text:
        text = re.sub(r"\s(?:S\.\s?A\.?|SA\.?)$", " S.A.", text)
        text = re.sub(r"\sL[il1I]da(\.?)$", r" Ltda\1", text)
    return text
