"""Check digits and shapes of CPF, CNPJ, boleto lines, NF-e keys and PIX ids."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from fields_corpus import _mod10, _mod11, boleto_line, cnpj, cpf, nfe_key

from folio_shared.identifiers import (
    bank_line_valid,
    cnpj_valid,
    collection_line_valid,
    cpf_valid,
    digitable_line_valid,
    e2e_valid,
    nfe_key_valid,
    repair_digitable_line,
    repair_e2e,
    tax_id_valid,
)
from folio_worker_docs.extraction.boleto import agreeing


def _flip(digits: str, at: int) -> str:
    return digits[:at] + str((int(digits[at]) + 1) % 10) + digits[at + 1 :]


def collection_line(body43: str, mod10: bool) -> str:
    """A 48-digit arrecadação line from 43 digits (the general digit goes at index 3)."""

    def dv(d: str) -> int:
        if mod10:
            return _mod10(d)
        r = _mod11(d)
        return 0 if r in (0, 1) else 11 - r

    barcode = body43[:3] + str(dv(body43)) + body43[3:]
    return "".join(b + str(dv(b)) for b in (barcode[i : i + 11] for i in range(0, 44, 11)))


def test_cpf_check_digits() -> None:
    assert cpf_valid("52998224725")
    assert not cpf_valid("52998224724")
    assert not cpf_valid("11111111111")
    assert not cpf_valid("5299822472")


def test_cnpj_check_digits() -> None:
    assert cnpj_valid("11222333000181")
    assert not cnpj_valid("11222333000182")
    assert not cnpj_valid("00000000000000")


def test_masked_cpf_has_nothing_to_check() -> None:
    assert tax_id_valid("***.456.789-**") is None
    assert tax_id_valid("**.222.333/0001-**") is None
    assert tax_id_valid("11.***.***/0001-81") is None
    assert tax_id_valid("52998224725") is True
    assert tax_id_valid("11222333000180") is False
    assert tax_id_valid("123") is False


@pytest.mark.parametrize("seed", range(20))
def test_generated_ids_pass_and_each_digit_flip_fails(seed: int) -> None:
    rng = random.Random(seed)
    person, company = cpf(rng), cnpj(rng)
    line = boleto_line(rng, rng.randint(1, 10**8), datetime(2026, 5, 1))
    key = nfe_key(rng, company, datetime(2026, 5, 1), 1, rng.randint(1, 10**6))
    assert cpf_valid(person)
    assert cnpj_valid(company)
    assert bank_line_valid(line)
    assert digitable_line_valid(line)
    assert nfe_key_valid(key)
    # Luhn catches any one-digit change in a field; the general digit itself, when changed,
    # no longer matches (a change in the amount can map to the same digit: 0, 10, 11 all give 1)
    for digit_at in (0, 9, 10, 20, 21, 31, 32):
        assert not bank_line_valid(_flip(line, digit_at))
    assert not nfe_key_valid(_flip(key, 43))
    assert not nfe_key_valid(_flip(key, 7))
    assert not cpf_valid(_flip(person, 10))
    assert not cnpj_valid(_flip(company, 12))


@pytest.mark.parametrize("mod10", [True, False])
def test_collection_line(mod10: bool) -> None:
    rng = random.Random(3)
    body = "8" + "1" + ("6" if mod10 else "8") + "".join(str(rng.randint(0, 9)) for _ in range(40))
    line = collection_line(body, mod10)
    assert len(line) == 48
    assert collection_line_valid(line)
    assert digitable_line_valid(line)
    assert not collection_line_valid(_flip(line, 11))  # a block's check digit
    assert not collection_line_valid(_flip(line, 3))  # the general check digit
    assert not collection_line_valid(_flip(line, 30))


def test_e2e_shape_and_embedded_date() -> None:
    good = "E00038166201907261559y6j6mt9xbPn"
    assert e2e_valid(good)
    assert not e2e_valid(good[:-1])  # 31 characters
    assert not e2e_valid("E00038166201913261559y6j6mt9xbPn")  # month 13
    assert not e2e_valid("D00038166201907261559y6j6mt9xbPn")
    assert not e2e_valid("E00038166201907261559y6j6mt9xbP!")


def test_e2e_ocr_confusions_resolved_by_the_shape() -> None:
    assert repair_e2e("e0OO38166201907261559y6j6mt9xbPn") == "E00038166201907261559y6j6mt9xbPn"
    assert repair_e2e("E0003816620l9O7261559y6j6mt9xbPn") == "E00038166201907261559y6j6mt9xbPn"
    assert repair_e2e("E0003816620l9O7261559y6j6mt9xbP") is None


@pytest.mark.parametrize("seed", [41, 42])
def test_a_line_with_one_misread_digit_is_corrected_only_when_one_fix_fits(seed: int) -> None:
    # Given valid bank lines, each with one digit misread
    rng = random.Random(seed)
    fixed = 0
    for _ in range(60):
        line = boleto_line(rng, rng.randint(100, 999_999), datetime(2026, 3, 10))
        at = rng.randrange(47)
        misread = line[:at] + str((int(line[at]) + rng.randint(1, 9)) % 10) + line[at + 1 :]
        # When repaired from its check digits alone
        repaired = repair_digitable_line(misread)
        # Then it is the printed line or nothing: never another valid line
        assert repaired in (line, None)
        fixed += repaired == line
    assert fixed >= 6
    assert repair_digitable_line(line) is None  # a valid line needs no repair


def test_the_printed_amount_and_due_date_locate_a_misread_amount_digit() -> None:
    # Given a line whose amount field has one digit misread (15000 read 16000)
    line = boleto_line(random.Random(3), 15000, datetime(2026, 3, 10))
    misread = line[:-4] + "6" + line[-3:]
    # Then the check digits alone cannot say which digit is wrong
    assert repair_digitable_line(misread) is None
    # But the amount and due date printed on the slip can
    agrees = agreeing({"150.00"}, {"2026-03-10"})
    assert repair_digitable_line(misread, agrees) == line
    # And a slip printing another amount gets no correction
    assert repair_digitable_line(misread, agreeing({"99.00"}, {"2026-03-10"})) is None
