"""Expected amounts and dates compare by the value they name, however a
person writes them; a different value is still a mismatch."""

from __future__ import annotations

import pytest

from folio_worker_docs.extraction import compare_expected
from folio_worker_docs.extraction.types import Field


def _verdict(name: str, expected: str, found: str) -> str:
    field = Field(value=found, confidence=0.9, page=1, span=(0, len(found)))
    return compare_expected({name: expected}, {name: field})[name]


@pytest.mark.parametrize(
    "expected",
    ["1234.56", "1.234,56", "R$ 1.234,56", "R$1234,56", "1,234.56", "1234,56", " 1234.560 "],
)
def test_an_amount_as_people_write_it_matches(expected: str) -> None:
    assert _verdict("amount", expected, "1234.56") == "match"


@pytest.mark.parametrize("expected", ["1.234,57", "R$ 1.243,56", "123456", "abc", "", "NaN"])
def test_another_amount_is_a_mismatch(expected: str) -> None:
    assert _verdict("amount", expected, "1234.56") == "mismatch"


def test_a_whole_amount_matches_its_cents() -> None:
    assert _verdict("total_amount", "150", "150.00") == "match"
    assert _verdict("total_amount", "150,5", "150.50") == "match"


@pytest.mark.parametrize("expected", ["2026-12-05", "05/12/2026", "5 dez 2026", "05.12.26"])
def test_a_date_as_people_write_it_matches(expected: str) -> None:
    assert _verdict("due_date", expected, "2026-12-05") == "match"


@pytest.mark.parametrize("expected", ["2026-12-06", "12/05/2026", "dez 2026", "amanhã"])
def test_another_date_is_a_mismatch(expected: str) -> None:
    assert _verdict("due_date", expected, "2026-12-05") == "mismatch"


@pytest.mark.parametrize(
    "expected", ["2026-12-05T14:32", "05/12/2026 14:32", "5 dez 2026 às 14:32", "2026-12-05 14:32"]
)
def test_a_date_time_as_people_write_it_matches(expected: str) -> None:
    assert _verdict("paid_at", expected, "2026-12-05T14:32") == "match"


def test_a_day_alone_matches_a_date_time_on_that_day() -> None:
    assert _verdict("paid_at", "05/12/2026", "2026-12-05T14:32") == "match"
    assert _verdict("paid_at", "06/12/2026", "2026-12-05T14:32") == "mismatch"


@pytest.mark.parametrize("expected", ["05/12/2026 14:33", "06/12/2026 14:32", "14:32"])
def test_another_date_time_is_a_mismatch(expected: str) -> None:
    assert _verdict("paid_at", expected, "2026-12-05T14:32") == "mismatch"


@pytest.mark.parametrize("expected", ["sNaN", "-sNaN", "Infinity"])
def test_an_amount_that_names_no_value_is_a_mismatch_not_an_error(expected: str) -> None:
    # the verdicts are made in the worker as it stores the fields: a
    # client's odd value must not fail the document
    assert _verdict("amount", expected, "1234.56") == "mismatch"


@pytest.mark.parametrize(
    ("name", "expected"), [("number", "000004521"), ("number", "000.004.521"), ("series", "001")]
)
def test_a_number_printed_with_its_leading_zeros_matches_its_value(
    name: str, expected: str
) -> None:
    found = "4521" if name == "number" else "1"
    assert _verdict(name, expected, found) == "match"


def test_another_number_or_an_id_s_digits_with_one_more_zero_is_a_mismatch() -> None:
    assert _verdict("number", "4522", "4521") == "mismatch"
    assert _verdict("number", "45210", "4521") == "mismatch"
    line = "23790001900000000012345678901234567890123456789"
    assert _verdict("digitable_line", "0" + line, line) == "mismatch"
    assert _verdict("digitable_line", line[:5] + "." + line[5:], line) == "match"


_E2E = "E18236120202612051432s1533b0af6b"


@pytest.mark.parametrize("expected", [_E2E, f" {_E2E} ", f"{_E2E[:16]} {_E2E[16:]}"])
def test_an_end_to_end_id_matches_letter_for_letter(expected: str) -> None:
    assert _verdict("end_to_end_id", expected, _E2E) == "match"


@pytest.mark.parametrize("expected", [_E2E.upper(), _E2E[:-1] + "B", _E2E[:-1]])
def test_an_end_to_end_id_in_another_case_is_another_id(expected: str) -> None:
    # Then the payee check does not pass a transfer whose id differs in case
    assert _verdict("end_to_end_id", expected, _E2E) == "mismatch"


@pytest.mark.parametrize(
    ("printed", "expected", "verdict"),
    [
        ("**.222.333/0001-**", "11222333000181", "match"),
        ("**.222.333/0001-**", "11.222.333/0001-81", "match"),
        ("11.***.***/0001-81", "11222333000181", "match"),
        ("**.222.333/0001-**", "11222334000181", "mismatch"),
        ("11.***.***/0001-81", "12222333000181", "mismatch"),
        ("**.222.333/0001-**", "52998224725", "mismatch"),
    ],
)
def test_a_masked_cnpj_matches_by_its_visible_digits(
    printed: str, expected: str, verdict: str
) -> None:
    assert _verdict("payee_tax_id", expected, printed) == verdict
