"""Month names in printed dates: one table for every service that reads them.

Worker-docs' field normalisers and worker-ocr's page dates both read dates
whose month is spelled, day first (``5 dez 2026``, ``5 de dezembro de
2026``, ``13 de jan. de 2026``, ``5 Dec 2026``) or month first as English
prints it (``Dec 5, 2026``, ``December 5, 2026``). The names are Portuguese and
English, full and abbreviated (``março``/``marco``/``mar``, ``setembro``/
``set``, ``September``/``Sept``/``Sep``); they match on text folded by
:func:`fold` (lower case, accents removed) and only as whole words: ``out``
and ``outubro`` are October, ``outros`` is no month.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date

PORTUGUESE = (
    "janeiro",
    "fevereiro",
    "marco",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
)
ENGLISH = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


def _table() -> dict[str, int]:
    names: dict[str, int] = {}
    for number, (pt, en) in enumerate(zip(PORTUGUESE, ENGLISH, strict=True), start=1):
        for name in (pt, pt[:3], en, en[:3]):
            names[name] = number
    names["sept"] = 9
    return names


#: Every month name (folded) and its number: full names and three-letter
#: abbreviations in both languages, and ``sept``.
MONTHS: dict[str, int] = _table()

#: Regex source of one month name in folded text, as a whole word (not the
#: start of a longer word such as ``outros`` or ``marcou``); no groups.
MONTH_WORD = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + ")(?![a-z])"

#: Regex source of a date with its month spelled, day first (``5 dez 2026``,
#: ``5 de dezembro de 2026``, ``05/dez/2026``, ``13 de jan. de 2026``,
#: ``5dez2026``), in folded text; groups ``sd``, ``sm``, ``sy``.
SPELLED_DATE_SOURCE = (
    r"(?P<sd>\d{1,2})(?:\s*de\s+|\s*[/.-]\s*|\s*)(?P<sm>" + MONTH_WORD + r")\.?,?"
    r"(?:\s+de\s+|\s*[/.-]\s*|\s*)(?P<sy>\d{4})"
)
#: Regex source of a date with its month spelled, month first, as English
#: prints it (``Dec 5, 2026``, ``December 05, 2026``, ``Dec. 5th, 2026``,
#: ``Dec 5 2026``), in folded text; groups ``em``, ``ed``, ``ey``. The month
#: is a whole word on both sides (``amar 5, 2026`` holds no date).
MONTH_FIRST_DATE_SOURCE = (
    r"(?<![a-z])(?P<em>" + MONTH_WORD + r")\.?\s*(?P<ed>\d{1,2})(?:st|nd|rd|th)?(?![\d])"
    r"(?:,\s*|\s+)(?P<ey>\d{4})"
)
SPELLED_DATE = re.compile(
    r"(?<!\d)(?:" + SPELLED_DATE_SOURCE + "|" + MONTH_FIRST_DATE_SOURCE + r")(?!\d)"
)


def fold(text: str) -> str:
    """Lower-cased text without accents, one character for each input character.

    Offsets in the folded text are offsets in the original, so a match in it
    points at the printed text.
    """
    out = []
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0].lower()
        out.append(base if len(base) == 1 else ch)
    return "".join(out)


def month_number(name: str) -> int | None:
    """The month (1-12) a name printed in a date stands for, ``None`` if none:
    ``"Março"``, ``"mar."``, ``"dec"``, ``"Sept"``."""
    return MONTHS.get(fold(name.strip()).rstrip("."))


def spelled_date(day: str, month: str, year: str) -> date | None:
    """The day a spelled date's parts name, ``None`` if there is no such day
    or month (``31 fev 2026``)."""
    number = month_number(month)
    if number is None:
        return None
    try:
        return date(int(year), number, int(day))
    except ValueError:
        return None


def spelled_dates(text: str) -> Iterator[tuple[date, int, int]]:
    """Each date with a spelled month in ``text``, day or month first:
    ``(day, start, end)``, offsets in ``text``."""
    for m in SPELLED_DATE.finditer(fold(text)):
        found = spelled_date(*(m.group("sd", "sm", "sy") if m["sd"] else m.group("ed", "em", "ey")))
        if found is not None:
            yield found, m.start(), m.end()
