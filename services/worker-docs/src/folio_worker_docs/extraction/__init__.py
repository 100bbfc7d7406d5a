"""Structured fields of payment documents (PIX receipts, boletos, NF-e).

:func:`extract` classifies a document's page texts and runs the matching
extractor; :func:`compare_expected` checks a client's expected values
against the result. Extractors are plugins (:mod:`.registry`); the built-in
ones are :mod:`.pix`, :mod:`.boleto` and :mod:`.nfe`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Literal

from folio_worker_docs.extraction.classify import OTHER, classify
from folio_worker_docs.extraction.names import same_name
from folio_worker_docs.extraction.normalise import parse_amount, parse_date, parse_datetime
from folio_worker_docs.extraction.registry import installed
from folio_worker_docs.extraction.types import DocumentFields, Extractor, Field

#: Fields that hold a party's name, compared as the same party (:func:`same_name`).
NAME_FIELD_ENDINGS = ("_name", "_institution")

#: Version of the classifier, stored as ``other/<this>`` when no extractor applies.
CLASSIFIER_VERSION = "3"

Verdict = Literal["match", "mismatch", "missing"]


def extract(pages: list[str], extractors: Sequence[Extractor] | None = None) -> DocumentFields:
    """The document's type and fields, from its pages' texts (page 1 first)."""
    chosen = classify(pages, installed() if extractors is None else extractors)
    if chosen is None:
        return DocumentFields(OTHER, f"{OTHER}/{CLASSIFIER_VERSION}")
    return DocumentFields(
        chosen.document_type, f"{chosen.document_type}/{chosen.version}", chosen.extract(pages)
    )


#: A value as the extractors normalise an amount, a date and a date-time.
_AMOUNT_VALUE = re.compile(r"-?\d+\.\d{2}")
_DATE_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
#: Fields whose letters' case is part of the value (a PIX end-to-end id's
#: tail of 11 letters and digits, either case).
_CASED_IDS = frozenset({"end_to_end_id"})
#: Digits of the longest number compared by value (an NF-e's number has 9).
_NUMBER_DIGITS = 9


def _same(expected: str, found: str) -> bool:
    if expected == found:
        return True
    digits = "".join(ch for ch in expected if ch.isdigit())
    if len(digits) in (11, 14) and digits == found:
        return True
    if _AMOUNT_VALUE.fullmatch(found):
        # ``NaN``, ``sNaN`` and ``Infinity`` name no amount (``sNaN`` raises
        # when compared)
        amount = _amount(expected)
        return amount is not None and amount.is_finite() and amount == Decimal(found)
    if _DATETIME_VALUE.fullmatch(found):
        # a day alone names the day; with a time, the minute
        when = parse_datetime(expected)
        return when == found if when is not None else parse_date(expected) == found[:10]
    if _DATE_VALUE.fullmatch(found):
        return parse_date(expected) == found
    if found.isdigit():
        # a document's number or series by value (``000.004.521`` names
        # 4521); a longer run of digits, an id, digit for digit
        printed = re.sub(r"[\s.]", "", expected)
        return printed.isdigit() and (
            printed == found or (len(found) <= _NUMBER_DIGITS and int(printed) == int(found))
        )
    return expected.strip().casefold() == found.strip().casefold()


def _amount(expected: str) -> Decimal | None:
    """``expected`` as an amount, written as the API's fields give it
    (``"1234.56"``, ``"150"``) or as people write it (``"R$ 1.234,56"``,
    ``"150,00"``); ``None`` when it is not one."""
    printed = parse_amount(expected)
    if printed is not None:
        return Decimal(printed)
    try:
        return Decimal(expected.strip().replace(",", "."))
    except InvalidOperation:
        return None


def compare_expected(
    expected: Mapping[str, str], fields: Mapping[str, Field]
) -> dict[str, Verdict]:
    """``match``/``mismatch``/``missing`` for each expected field.

    Tax ids compare by digits, amounts by value (``"150"`` and
    ``"R$ 150,00"`` match ``"150.00"``; ``"1.234,56"`` matches
    ``"1234.56"``), dates and date-times by the day and minute they name
    (``"05/12/2026"`` matches ``"2026-12-05"``; an expected day alone
    matches a date-time on that day), names (``*_name``, ``*_institution``)
    as the same party (:func:`~.names.same_name`: case, accents,
    punctuation, spacing and legal qualifiers aside), a PIX end-to-end id
    letter for letter (spaces aside), other text without regard to case.
    A masked CPF or CNPJ matches an expected CPF or CNPJ whose visible
    digits agree.
    """
    out: dict[str, Verdict] = {}
    for name, want in expected.items():
        got = fields.get(name)
        if got is None:
            out[name] = "missing"
        elif _agrees(name, want, got.value):
            out[name] = "match"
        else:
            out[name] = "mismatch"
    return out


def _agrees(name: str, expected: str, found: str) -> bool:
    if name.endswith(NAME_FIELD_ENDINGS) and same_name(expected, found):
        return True
    if name in _CASED_IDS:
        # the SPI tells ``…s1533b0af6b`` from ``…S1533B0AF6B``: two ids
        return "".join(expected.split()) == found
    return _same(expected, found) or _masked_match(expected, found)


def _masked_match(expected: str, printed: str) -> bool:
    digits = "".join(ch for ch in expected if ch.isdigit())
    visible = "".join(ch if ch.isdigit() else "?" for ch in printed if ch.isdigit() or ch in "*•xX")
    return (
        len(digits) == len(visible) in (11, 14)
        and all(v == "?" or v == d for v, d in zip(visible, digits, strict=True))
        and "?" in visible
    )


__all__ = [
    "CLASSIFIER_VERSION",
    "OTHER",
    "DocumentFields",
    "Extractor",
    "Field",
    "Verdict",
    "compare_expected",
    "extract",
]
