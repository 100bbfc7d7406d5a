"""Dates printed on a page, read from its OCR text: an end-to-end id's
embedded date is checked against them (:mod:`.reread`) and decoded under
them (:func:`~.id_ctc.grammar`)."""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime

from folio_shared.months import spelled_dates

_NUMERIC = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


def dates_on(text: str) -> list[datetime]:
    """The ``dd/mm/yyyy`` dates in ``text``, at midnight."""
    out = []
    for m in _NUMERIC.finditer(text):
        with contextlib.suppress(ValueError):
            out.append(datetime(int(m[3]), int(m[2]), int(m[1])))
    return out


def days_on(text: str) -> list[date]:
    """The days printed in ``text``: ``dd/mm/yyyy``, and dates with the month
    in words (the kernel's :mod:`folio_shared.months`: Portuguese or English,
    full or abbreviated, ``5 dez 2026``, ``2 de setembro de 2026``)."""
    return [d.date() for d in dates_on(text)] + [day for day, _, _ in spelled_dates(text)]
