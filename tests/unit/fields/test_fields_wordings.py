"""Rules found wanting by the third layout family (:mod:`fields_corpus_wordings`),
each on a minimal page: masked CNPJs kept as printed, receipts in English, a
label in a row of column headers, a tax id printed beside its party's name,
and what scans of that family break. The family as text and text PDFs is
measured in ``test_fields_unseen.py``."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime

import pytest
from fields_corpus import boleto_line, fmt_line, nfe_key
from fields_corpus_wordings_docs import build_wordings_corpus

from folio_worker_docs.extraction import extract
from folio_worker_docs.extraction.candidates import TAX_ID_PATTERN
from folio_worker_docs.extraction.labels import Page, values_after
from folio_worker_docs.extraction.parties import TAX_LABEL

E2E = "E18236120202612051732abcdEFGH123"
HEAD = f"Comprovante Pix\nValor: R$ 150,00\nData e hora: 05/12/2026 14:32\nID: {E2E}\n"


@pytest.mark.parametrize(
    "printed", ["**.222.333/0001-**", "11.***.***/0001-81", "XX.222.333/0001-XX"]
)
def test_a_masked_cnpj_is_kept_as_printed(printed: str) -> None:
    page = f"{HEAD}Recebedor\nNome: Padaria Pão Quente Ltda\nCNPJ: {printed}\n"
    found = extract([page]).fields["payee_tax_id"]
    assert (found.value, found.valid) == (printed, None)


def test_a_bank_after_a_masked_cnpj_is_the_payee_s_institution() -> None:
    page = (
        f"{HEAD}Recebedor\nPadaria Pão Quente Ltda\nCNPJ **.222.333/0001-**\n"
        "260 - Nu Pagamentos S.A.\n"
    )
    assert extract([page]).fields["payee_institution"].value == "Nu Pagamentos S.A."


def test_a_receipt_in_english_names_its_parties() -> None:
    page = (
        "Pix transfer receipt\nAmount: R$ 1,234.56\nPaid on: Dec 5, 2026 at 14:32\n\n"
        "To\nName: Padaria Pão Quente Ltda\nTax ID: 11.222.333/0001-81\n"
        "Institution: Nu Pagamentos S.A.\n\n"
        "From\nName: Ana Lima Souza\nTax ID: ***.456.789-**\nInstitution: Banco Inter S.A.\n\n"
        f"Transaction ID: {E2E}\n"
    )
    fields = {k: f.value for k, f in extract([page]).fields.items()}
    assert fields == {
        "amount": "1234.56",
        "paid_at": "2026-12-05T14:32",
        "end_to_end_id": E2E,
        "payee_name": "Padaria Pão Quente Ltda",
        "payee_tax_id": "11222333000181",
        "payee_institution": "Nu Pagamentos S.A.",
        "payer_name": "Ana Lima Souza",
        "payer_tax_id": "***.456.789-**",
    }


def test_english_sections_with_values_on_their_own_lines() -> None:
    page = (
        f"Pix sent\nAmount\nR$ 50.00\nDate and time\n05/12/2026 14:32\n"
        "Recipient\nMaria Souza Lima\nCPF 123.456.789-09\n341 - Itaú Unibanco S.A.\n"
        f"Sender\nAna Lima Souza\nCPF ***.456.789-**\n\nEnd-to-end ID\n{E2E}\n"
    )
    fields = {k: f.value for k, f in extract([page]).fields.items()}
    assert fields["payee_name"] == "Maria Souza Lima"
    assert fields["payee_institution"] == "Itaú Unibanco S.A."
    assert fields["payer_name"] == "Ana Lima Souza"
    assert fields["payer_tax_id"] == "***.456.789-**"


def test_an_english_fee_and_issue_stamp_are_not_the_amount_and_the_payment_s_time() -> None:
    # Given a fee and the receipt's issue stamp printed above the amount and the payment
    page = (
        "Pix transfer receipt\nIssued on Dec 7, 2026 09:10\nFee: R$ 2.50\n"
        "Amount: R$ 1,234.56\nPaid on: Dec 5, 2026 at 14:32\n"
        f"To\nName: Maria Souza Lima\nTransaction ID: {E2E}\n"
    )
    fields = extract([page]).fields
    assert fields["amount"].value == "1234.56"
    assert "2.50" in {a.value for a in fields["amount"].alternatives}
    assert fields["paid_at"].value == "2026-12-05T14:32"


@pytest.mark.parametrize("clock", ["14:32", "às 14h32", "14:32:07", "2:32 PM"])
def test_a_time_alone_on_the_line_under_the_date_is_the_payment_s(clock: str) -> None:
    page = f"Comprovante de Pix\nValor pago: R$ 150,00\nPago em\n05/12/2026\n{clock}\nID: {E2E}\n"
    assert extract([page]).fields["paid_at"].value == "2026-12-05T14:32"


def test_a_label_in_a_row_of_headers_reads_the_value_in_its_column() -> None:
    # Given a table whose institution column holds a bank code, not a name
    page = (
        f"{HEAD}Quem recebeu      CPF/CNPJ            Instituição\n"
        "Maria Souza Lima      123.456.789-09      077\n"
    )
    # Then the payee's name is not read as the institution
    fields = extract([page]).fields
    assert fields["payee_name"].value == "Maria Souza Lima"
    assert "payee_institution" not in fields


@pytest.mark.parametrize("between", [" - ", ", ", "   ", " - CNPJ: ", " (CNPJ "])
def test_a_beneficiary_s_tax_id_beside_the_name_is_the_beneficiary_s(between: str) -> None:
    line = boleto_line(random.Random(3), 15000, datetime(2026, 12, 10))
    page = (
        f"Boleto\n{fmt_line(line)}\nVencimento 10/12/2026\nValor cobrado: R$ 150,00\n"
        f"Beneficiário final\nEditora Sol Ltda{between}11.222.333/0001-81\n"
        "Pagador\nAna Lima Souza - 123.456.789-09\n"
    )
    found = extract([page]).fields["beneficiary_tax_id"]
    assert (found.value, found.valid) == ("11222333000181", True)


def test_a_recipient_s_tax_id_beside_the_name_is_the_recipient_s() -> None:
    key = nfe_key(random.Random(5), "11222333000181", datetime(2026, 5, 1), 1, 1234)
    page = (
        f"DANFE\nChave de acesso {key}\n"
        "EMITENTE: Editora Sol Ltda - CNPJ 11.222.333/0001-81\n"
        "DESTINATÁRIO: Ana Lima Souza - 123.456.789-09\n"
        "Valor total da nota: R$ 150,00\n"
    )
    found = extract([page]).fields
    assert found["recipient_name"].value == "Ana Lima Souza"
    assert found["recipient_tax_id"].value == "12345678909"


def _slip(parties: str) -> str:
    line = boleto_line(random.Random(3), 15000, datetime(2026, 12, 10))
    return f"Boleto\n{fmt_line(line)}\nVencimento 10/12/2026\nValor cobrado: R$ 150,00\n{parties}"


def test_a_speck_between_a_label_and_its_column_is_passed_over() -> None:
    page = f"{HEAD}Dados do pagador\nNome o      Ana Lima Souza -\nCPF/CNPJ      ***.456.789-**\n"
    assert extract([page]).fields["payer_name"].value == "Ana Lima Souza"


def test_a_name_ends_at_a_dash_before_a_tax_id_read_with_a_space() -> None:
    found = extract([_slip("Pagador\nAna Lima Souza - 026. 841.060-70\n")])
    assert found.fields["payer_name"].value == "Ana Lima Souza"


def test_a_table_rule_read_as_a_letter_is_no_part_of_a_name() -> None:
    page = _slip("Beneficiário . CNPJ\nEditora Sol Ltda l 11.222.333/0001-81\n")
    assert extract([page]).fields["beneficiary_name"].value == "Editora Sol Ltda"


def test_a_tax_id_misread_on_its_label_s_line_takes_none_from_the_lines_below() -> None:
    # Given a beneficiary's CNPJ the scan broke, and the payer's CPF under it
    page = _slip(
        "Cedente: Editora Sol Ltda\nCNPJ do cedente: 52.431 -515/0001-40\n"
        "Sacado: Ana Lima Souza\nCPF do sacado: 123.456.789-09\n"
    )
    # Then the payer's CPF is not given as the beneficiary's
    assert "beneficiary_tax_id" not in extract([page]).fields


def test_a_slip_whose_line_the_scan_lost_is_still_a_boleto() -> None:
    # Given a slip's wordings, its due date and amount, and a line read with letters in it
    page = (
        "Pagamento de boleto - 2ª via\nCódigo de barras: 2379853613530515220427277901 dd 34400\n"
        "Beneficiário final\nEditora Sol Ltda - 11.222.333/0001-81\n"
        "Vencimento: 1 de fevereiro de 2026\nValor cobrado: R$ 4.167,12\n"
    )
    found = extract([page])
    assert found.document_type == "boleto"
    assert found.fields["amount"].value == "4167.12"
    assert "digitable_line" not in found.fields


def test_a_label_whose_cell_holds_another_figure_looks_no_further() -> None:
    page = Page.of(1, "CNPJ: 52.431 -515/0001-40\nContato\nCPF 123.456.789-09\n")
    hits = values_after(page, TAX_LABEL, TAX_ID_PATTERN)
    assert [(page.text[h.label_start : h.label_start + 3], h.text) for h in hits] == [
        ("CPF", "123.456.789-09")
    ]


@pytest.mark.parametrize(
    ("amount_label", "date_label"),
    [
        ("Valor pago (1x)", "Data e hora (GMT-03:00)"),
        ("Valor pago [1 de 1]", "Data e hora (UTC-3)"),
    ],
)
def test_a_figure_in_brackets_after_a_label_is_the_label_s_own(
    amount_label: str, date_label: str
) -> None:
    # Given values under labels that carry a figure of their own in brackets,
    # and a tariff and an issue stamp printed above them
    page = (
        "Comprovante Pix\nEmitido em 06/12/2026 09:00\nTarifa: R$ 2,50\n"
        f"{amount_label}\nR$ 150,00\n{date_label}\n05/12/2026 14:32\nID: {E2E}\n"
    )
    fields = extract([page]).fields
    # Then the values under them are the payment's, not the side ones
    assert (fields["amount"].value, fields["paid_at"].value) == ("150.00", "2026-12-05T14:32")


def test_the_wordings_corpus_is_varied() -> None:
    corpus = build_wordings_corpus()
    kinds = Counter(doc.kind for doc in corpus)
    assert len({doc.name for doc in corpus if doc.kind == "pix_receipt"}) >= 7
    assert kinds["boleto"] >= 6
    assert kinds["nfe"] >= 6
    assert kinds["other"] >= 4
