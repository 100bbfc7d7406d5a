"""Expected names compare as the same party; tax ids and amounts stay exact;
the API doc shows the current extractor version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from folio_worker_docs.extraction import compare_expected
from folio_worker_docs.extraction.names import same_name
from folio_worker_docs.extraction.pix import PixReceiptExtractor
from folio_worker_docs.extraction.types import Field


def _field(value: str) -> Field:
    return Field(value=value, confidence=0.9, page=1, span=(0, len(value)))


@pytest.mark.parametrize(
    ("expected", "printed"),
    [
        ("Nu Pagamentos S.A.", "Nu Pagamentos S.A. - Instituição de Pagamento"),
        ("Nu Pagamentos S.A.", "NU PAGAMENTOS - IP"),
        ("Banco Bradesco S.A.", "BCO BRADESCO S/A"),
        ("Padaria Pão Quente", "PADARIA PAO QUENTE LTDA."),
        ("Padaria Pão Quente Ltda", "Padaria  Pão Quente Ltda - ME"),
        ("Mercado Pago", "MERCADO PAGO IP LTDA."),
        ("Auto Peças Rodovia Eireli", "Auto Pecas Rodovia EIRELI"),
        ("maria souza", "MARIA  SOUZA"),
        ("Cia. Paulista de Força e Luz", "Companhia Paulista de Forca e Luz"),
    ],
)
def test_the_same_party_printed_otherwise_is_a_match(expected: str, printed: str) -> None:
    assert same_name(expected, printed)
    assert compare_expected({"payee_name": expected}, {"payee_name": _field(printed)}) == {
        "payee_name": "match"
    }


@pytest.mark.parametrize(
    ("expected", "printed"),
    [
        ("Padaria Pão Quente", "Padaria Pão"),  # a word missing
        ("Maria Souza", "Mario Souza"),
        ("Itaú Unibanco S.A.", "Itaú Unibanco Holding S.A."),
        ("Casa Me Leva Ltda", "Casa Leva Ltda"),  # ME only as a name's last word
        ("Ana Lima", "Lima Ana"),  # order counts
    ],
)
def test_another_party_is_a_mismatch(expected: str, printed: str) -> None:
    assert not same_name(expected, printed)
    assert compare_expected(
        {"payee_institution": expected}, {"payee_institution": _field(printed)}
    ) == {"payee_institution": "mismatch"}


def test_tax_ids_and_amounts_stay_exact() -> None:
    fields = {"payee_tax_id": _field("11222333000181"), "amount": _field("150.00")}
    assert compare_expected({"payee_tax_id": "11.222.333/0001-81", "amount": "150"}, fields) == {
        "payee_tax_id": "match",
        "amount": "match",
    }
    assert compare_expected({"payee_tax_id": "11222333000182", "amount": "150.01"}, fields) == {
        "payee_tax_id": "mismatch",
        "amount": "mismatch",
    }


def test_the_api_doc_s_example_shows_the_current_pix_extractor() -> None:
    # docs/api.md's example of GET /v1/documents/{id}/fields names a version:
    # it must be the one a document processed today gets
    doc = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text()
    shown = re.findall(r'"extractor_version": "pix_receipt/(\d+)"', doc)
    assert shown == [PixReceiptExtractor.version]
