"""Amounts, dates and date-times as printed, normalised."""

from __future__ import annotations

import pytest

from folio_worker_docs.extraction.normalise import (
    fold,
    parse_amount,
    parse_date,
    parse_datetime,
    tidy_name,
)


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("R$ 1.234,56", "1234.56"),
        ("R$1234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("R$ 0,99", "0.99"),
        ("R$ 12.345.678,00", "12345678.00"),
        ("150,00", "150.00"),
        ("R$ 1 234,56", "1234.56"),
        ("R$ 308;40", "308.40"),  # OCR: a speck turns the comma into a semicolon
        ("R$.9.383,24", "9383.24"),  # OCR: a speck after the currency sign
        ("R$: 0,00", "0.00"),
        ("R$ 13:322,56", "13322.56"),  # OCR: a thousands dot read as a colon
        ("às 14:32 R$ 10,00", "10.00"),  # a time before the amount stays apart
        ("valor: R$ 85,5", None),
        # apps print whole amounts without cents, always after the currency
        ("R$ 1.000", "1000.00"),
        ("R$ 50", "50.00"),
        ("R$ 12.500 via Pix", "12500.00"),
        ("R$ 1234 56", None),  # a scan lost its comma: not sure which amount
        ("R$ 1,000", None),  # a thousands comma or decimals cut short
        ("R$ 1.234,S6", None),  # OCR read a cent as a letter
        ("R$ 12O,00", None),  # OCR read a zero as a letter
        ("R$ 1.000.", "1000.00"),  # a sentence's full stop
        ("1.000", None),  # no currency: a count, not an amount
        ("sem valor", None),
    ],
)
def test_amounts(printed: str, value: str | None) -> None:
    assert parse_amount(printed) == value


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("05/12/2026", "2026-12-05"),
        ("5 dez 2026", "2026-12-05"),
        ("05 DEZ 2026", "2026-12-05"),
        ("5 de dezembro de 2026", "2026-12-05"),
        ("05.12.26", "2026-12-05"),
        ("2026-12-05", "2026-12-05"),
        ("1º de março de 2026", None),
        ("31/02/2026", None),
        ("5 de março de 2026", "2026-03-05"),
        ("05/dez/2026", "2026-12-05"),
        ("05 Dec 2026", "2026-12-05"),  # an English month (the kernel's table)
        ("5 sept. 2026", "2026-09-05"),
        ("5dez2026", "2026-12-05"),  # OCR lost the spaces
        ("5 outros 2026", None),  # a word that only starts like a month
        # English prints the month first; day-first dates above are unchanged
        ("Dec 5, 2026", "2026-12-05"),
        ("December 5, 2026", "2026-12-05"),
        ("Dec. 5th, 2026", "2026-12-05"),
        ("Sept 30 2026", "2026-09-30"),
        ("February 30, 2026", None),
        ("amar 5, 2026", None),  # a word that only ends like a month
        ("December 52026", None),
    ],
)
def test_dates(printed: str, value: str | None) -> None:
    assert parse_date(printed) == value


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("05/12/2026 14:32", "2026-12-05T14:32"),
        ("5 dez 2026 às 14:32", "2026-12-05T14:32"),
        ("05/12/2026 - 14:32:10", "2026-12-05T14:32"),
        ("5 de dezembro de 2026, 9h05", "2026-12-05T09:05"),
        ("05/12/2026", None),
        ("05/12/2026 25:00", None),
        ("December 5, 2026 2:32 PM", "2026-12-05T14:32"),
        ("Dec 5, 2026, 12:05 AM", "2026-12-05T00:05"),
        ("Dec 5, 2026 at 12:05 p.m.", "2026-12-05T12:05"),
        ("Dec 5 2026 - 9:10am", "2026-12-05T09:10"),
        ("05/12/2026 2:32 pm", "2026-12-05T14:32"),
        ("05/12/2026 14:32 amanhã", "2026-12-05T14:32"),  # no "am"
    ],
)
def test_datetimes(printed: str, value: str | None) -> None:
    assert parse_datetime(printed) == value


def test_fold_keeps_offsets() -> None:
    text = "Instituição: Açaí Ltda"
    assert fold(text) == "instituicao: acai ltda"
    assert len(fold(text)) == len(text)


@pytest.mark.parametrize(
    ("read", "name"),
    [
        ("Paulo Oliveira Martins.", "Paulo Oliveira Martins"),
        ("Oficina do Zé Ltda ..", "Oficina do Zé Ltda"),
        ("Mercado Bom Preço S.A.", "Mercado Bom Preço S.A."),
        ("Mercado Bom Preço S.A", "Mercado Bom Preço S.A."),
        ("Distribuidora Sol Nascente SA.", "Distribuidora Sol Nascente S.A."),
        ("Mercado Bom Preço.S.A.", "Mercado Bom Preço S.A."),
        ("Auto'Peças Rodovia Eireli", "Auto Peças Rodovia Eireli"),
        ("Padaria Pão Quente Lida", "Padaria Pão Quente Ltda"),
        ("Comércio Ltda.", "Comércio Ltda."),
        ("Coca-Cola Indústrias Ltda", "Coca-Cola Indústrias Ltda"),
        ("Joana D'Ávila", "Joana D'Ávila"),
        ("Lida", "Lida"),
    ],
)
def test_names_lose_what_ocr_adds(read: str, name: str) -> None:
    assert tidy_name(read) == name
