"""Dates printed on a page, read from its OCR text: an end-to-end id's
embedded date is checked against them (:mod:`.reread`) and decoded under
them (:func:`~.id_ctc.grammar`)."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from datetime import date, datetime

_NUMERIC = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
#: Portuguese months by their first three letters (``5 dez 2026``,
#: ``13 de jan. de 2026``, ``2 de setembro de 2026``), accents folded.
MONTHS = ("jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez")
_WORDED = re.compile(
    r"\b(\d{1,2})\s*(?:de\s+)?(" + "|".join(MONTHS) + r")[a-z]*\.?,?\s*(?:de\s+)?(\d{4})\b"
)


def dates_on(text: str) -> list[datetime]:
    """The ``dd/mm/yyyy`` dates in ``text``, at midnight."""
    out = []
    for m in _NUMERIC.finditer(text):
        with contextlib.suppress(ValueError):
            out.append(datetime(int(m[3]), int(m[2]), int(m[1])))
    return out


def days_on(text: str) -> list[date]:
    """The days printed in ``text``: ``dd/mm/yyyy`` and Portuguese dates with
    the month in words."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    out = [d.date() for d in dates_on(text)]
    for m in _WORDED.finditer(folded):
        with contextlib.suppress(ValueError):
            out.append(date(int(m[3]), MONTHS.index(m[2]) + 1, int(m[1])))
    return out
