"""The kernel's month names: one table for every date printed with its month in words."""

from __future__ import annotations

from datetime import date

import pytest

from folio_shared.months import MONTHS, fold, month_number, spelled_dates


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("Março", 3),
        ("marco", 3),
        ("MAR.", 3),
        ("fev", 2),
        ("Fevereiro", 2),
        ("set", 9),
        ("Setembro", 9),
        ("Sept", 9),
        ("sep", 9),
        ("dez", 12),
        ("December", 12),
        ("out", 10),
        ("oct", 10),
        ("mai", 5),
        ("May", 5),
        ("outros", None),
        ("dezena", None),
        ("", None),
    ],
)
def test_names_full_and_abbreviated_in_both_languages(name: str, number: int | None) -> None:
    assert month_number(name) == number


def test_every_month_has_its_names() -> None:
    for number in range(1, 13):
        assert len([n for n, m in MONTHS.items() if m == number]) >= 3


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("Pago em 5 dez 2026 às 14:32", [date(2026, 12, 5)]),
        ("2 de setembro de 2026", [date(2026, 9, 2)]),
        ("13 de jan. de 2026 e 29 de MARÇO de 2026", [date(2026, 1, 13), date(2026, 3, 29)]),
        ("05 Dec 2026", [date(2026, 12, 5)]),
        ("5dez2026", [date(2026, 12, 5)]),
        ("5 outros 2026", []),  # starts like "out", is no month
        ("12 marcou 2026 e 3 setembros 2026", []),
        ("31 fev 2026", []),  # no such day
        ("105 dez 2026", []),  # no day has three digits
        ("Paid on Dec 5, 2026 and December 6th, 2026", [date(2026, 12, 5), date(2026, 12, 6)]),
        ("dec5,2026", [date(2026, 12, 5)]),  # OCR lost the spaces
        ("amar 5, 2026", []),  # ends like "mar", is no month
        ("Nov 30 Dec 5, 2026", [date(2026, 12, 5)]),  # "Nov 30" has no year
    ],
)
def test_spelled_dates(text: str, days: list[date]) -> None:
    assert [day for day, _, _ in spelled_dates(text)] == days


def test_spans_point_at_the_printed_date() -> None:
    text = "Realizado em 5 de Março de 2026."
    [(_, start, end)] = spelled_dates(text)
    assert text[start:end] == "5 de Março de 2026"
    assert len(fold(text)) == len(text)
