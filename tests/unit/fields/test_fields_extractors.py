"""The built-in extractors on hand-written pages: alternatives, invalid ids, plugins."""

from __future__ import annotations

from folio_worker_docs.extraction import compare_expected, extract
from folio_worker_docs.extraction.registry import GROUP, installed
from folio_worker_docs.extraction.types import Field

RECEIPT = """Comprovante Pix
Valor pago: R$ 1.234,56
Tarifa: R$ 2,50
Data do pagamento: 05/12/2026 14:32
Emitido em 06/12/2026 09:00
Para
Nome: Padaria Pão Quente Ltda
CNPJ: 11.222.333/0001-82
Instituição: Banco Inter S.A.
De
Nome: Ana Souza
CPF: ***.456.789-**
Identificador: E0O416968202612O51732aB3dE4fG5hI
"""


def test_receipt_fields_with_alternatives_and_spans() -> None:
    result = extract([RECEIPT])
    assert result.document_type == "pix_receipt"
    assert result.extractor_version.startswith("pix_receipt/")
    fields = result.fields
    amount = fields["amount"]
    assert amount.value == "1234.56"
    assert [a.value for a in amount.alternatives] == ["2.50"]
    assert RECEIPT[amount.span[0] : amount.span[1]] == "R$ 1.234,56"
    assert fields["paid_at"].value == "2026-12-05T14:32"
    assert "2026-12-06T09:00" in [a.value for a in fields["paid_at"].alternatives]
    assert fields["payee_name"].value == "Padaria Pão Quente Ltda"
    assert fields["payee_institution"].value == "Banco Inter S.A."
    assert fields["payer_name"].value == "Ana Souza"
    assert fields["payer_tax_id"].value == "***.456.789-**"
    assert fields["payer_tax_id"].valid is None


def test_invalid_cnpj_is_returned_flagged() -> None:
    payee = extract([RECEIPT]).fields["payee_tax_id"]
    assert payee.value == "11222333000182"
    assert payee.valid is False


def test_e2e_id_read_with_o_for_zero_is_repaired() -> None:
    e2e = extract([RECEIPT]).fields["end_to_end_id"]
    assert e2e.value == "E00416968202612051732aB3dE4fG5hI"
    assert e2e.valid is True
    assert e2e.confidence < 0.95  # repaired, so less sure than a clean read


def test_an_id_dated_far_from_the_payment_loses_to_one_dated_near_it() -> None:
    # Given a receipt paid on 05/12/2026 14:32 (local) with two ids printed:
    # one stamped 17:32 UTC that day, one a year later
    near = "E00416968202612051732aB3dE4fG5hI"
    far = "E00416968202712051732aB3dE4fG5hI"
    page = RECEIPT.replace("E0O416968202612O51732aB3dE4fG5hI", f"{far}\nAutenticação: {near}")
    # When extracted
    e2e = extract([page]).fields["end_to_end_id"]
    # Then the near one is the id, and the far one an alternative
    assert e2e.value == near
    assert [a.value for a in e2e.alternatives] == [far]
    assert e2e.alternatives[0].confidence < e2e.confidence


def test_a_masked_cpf_whose_asterisks_ocr_misread_is_kept_as_printed() -> None:
    for read in ('CPF: “rr. 485.456-""', "CPF\t+++.485.456-**", 'CPF: "*.485.456-*'):
        payer = extract([RECEIPT.replace("CPF: ***.456.789-**", read)]).fields["payer_tax_id"]
        assert payer.value == "***.485.456-**", read
        assert payer.valid is None
        assert payer.confidence < 0.9  # less sure than asterisks read as such
    # an amount with six digits is no masked CPF
    fields = extract([RECEIPT.replace("CPF: ***.456.789-**", "CPF: R$ 123.456,78")]).fields
    assert "payer_tax_id" not in fields


def test_specks_and_table_rules_a_scan_adds_around_labels_are_passed_over() -> None:
    # Given a scanned receipt whose section headers and values carry specks
    # (a star, a quote) and a thousands dot read as a colon
    receipt = """Comprovante de Pix
Valor da transação\t| R$ 13:322,56
* Dados do recebedor
Nome/Razão social\t'* Camila Santos Gomes
* Dados do pagador
Nome\t“ Paulo Costa Carvalho
"""
    fields = extract([receipt]).fields
    # Then the values are read past them
    assert fields["amount"].value == "13322.56"
    assert fields["payee_name"].value == "Camila Santos Gomes"
    assert fields["payer_name"].value == "Paulo Costa Carvalho"
    # and a DANFE title beside its issuer label, a rule after it, is no name
    danfe = """IDENTIFICAÇÃO DO EMITENTE : DANFE |
“Livraria Página Nova Ltda | .
CHAVE DE ACESSO
3526 0255 0310 3700 0179 5500 4000 9477 9117 6459 8140
DANFE Documento Auxiliar da Nota Fiscal Eletrônica
"""
    assert extract([danfe]).fields["issuer_name"].value == "Livraria Página Nova Ltda"


def test_an_id_ocr_split_with_spaces_is_joined_when_valid() -> None:
    # Given a scan whose page OCR put spaces inside the id (stamped 23:23 UTC,
    # paid 20:23 local time)
    paid = "Comprovante de Pix\nValor: R$ 10,00\nData/Hora: 20/08/2026 20:23\nID/E2E\n"
    text = paid + "E 1057352 1 2026082023232wn4nykeEdo fim\n"
    e2e = extract([text]).fields["end_to_end_id"]
    # Then its groups are joined into the one valid id, with a span over them
    assert e2e.value == "E105735212026082023232wn4nykeEdo"
    assert text[e2e.span[0] : e2e.span[1]] == "E 1057352 1 2026082023232wn4nykeEdo"
    # and spaced words that make no valid id give none, nor a split id dated
    # far from the payment or one that needs look-alikes repaired
    for line in (
        "Enviado por Ana Souza Lima Costa",
        "E 1057352 1 2028082023232wn4nykeEdo",
        "E 1O57352 1 2026082023232wn4nykeEdo",
    ):
        assert "end_to_end_id" not in extract([paid + line + "\n"]).fields


def test_a_cpf_masked_with_bullets_that_ocr_read_as_zeros_or_letters_is_kept_as_printed() -> None:
    # Given a receipt whose CPF is printed •••.456.789-••, read by a scan's OCR
    # with its bullets as zeros, letters or dots (readings seen on 200 dpi scans)
    for read in (
        "000.456.789-00",
        "000, 456.789-0e",
        "soe 456.789-00",
        "eee. 456.789-.e",
        "\u201c00,456.789-se",
    ):
        # When extracted
        payer = extract([RECEIPT.replace("***.456.789-**", read)]).fields["payer_tax_id"]
        # Then it is the masked CPF with its bullets, less sure than one read whole
        assert payer.value == "•••.456.789-••", read
        assert payer.valid is None
        assert payer.confidence < 0.9
    # And asterisks misread keep their asterisks
    payer = extract([RECEIPT.replace("***.456.789-**", "**+ 456.789:**")]).fields["payer_tax_id"]
    assert payer.value == "***.456.789-**"
    # And a whole CPF that starts and ends with zeros and holds is a CPF
    payer = extract([RECEIPT.replace("***.456.789-**", "000.000.037-00")]).fields["payer_tax_id"]
    assert (payer.value, payer.valid) == ("00000003700", True)


def test_a_cpf_whose_hyphen_a_photo_read_as_a_dot_or_split_with_spaces_is_read() -> None:
    for printed in ("812.724.802.91", "812.724. 802-91", "812.724 .802-91"):
        receipt = f"Comprovante Pix\nValor: R$ 10,00\nPara\nNome: Ana Souza\nCPF: {printed}\n"
        payee = extract([receipt]).fields["payee_tax_id"]
        assert (payee.value, payee.valid) == ("81272480291", True)


def test_invalid_boleto_line_is_flagged() -> None:
    page = (
        "Boleto\nBeneficiário: Clínica Sorriso Ltda\nVencimento: 10/03/2026\n"
        "Linha digitável: 34191.09008 12345.678901 23456.789012 3 10000000015000\n"
        "Valor do documento: R$ 150,00\n"
    )
    fields = extract([page]).fields
    assert extract([page]).document_type == "boleto"
    assert fields["digitable_line"].valid is False
    assert fields["digitable_line"].value == "34191090081234567890123456789012310000000015000"
    assert fields["amount"].value == "150.00"
    assert fields["due_date"].value == "2026-03-10"


def test_invalid_access_key_is_flagged() -> None:
    page = (
        "DANFE\nDocumento Auxiliar da Nota Fiscal Eletrônica\nChave de acesso\n"
        "3526 0111 2223 3300 0181 5500 1000 0012 3410 0000 0011\n"
        "Valor total da nota: R$ 99,00\n"
    )
    result = extract([page])
    assert result.document_type == "nfe"
    assert result.fields["access_key"].valid is False
    assert "issuer_tax_id" not in result.fields  # an invalid key does not vouch for its parts


def test_non_payment_document_is_other_with_no_fields() -> None:
    result = extract(["Ata da reunião\nO valor de R$ 10,00 será pago via Pix em 05/12/2026."])
    assert result.document_type == "other"
    assert result.fields == {}


def test_expected_values() -> None:
    fields = {
        "amount": Field("150.00", 0.9, 1, (0, 5)),
        "payee_tax_id": Field("11222333000181", 0.9, 1, (6, 20)),
        "payer_tax_id": Field("***.456.789-**", 0.9, 1, (21, 35)),
    }
    verdicts = compare_expected(
        {
            "amount": "150",
            "payee_tax_id": "11.222.333/0001-81",
            "payer_tax_id": "123.456.789-09",
            "end_to_end_id": "E1",
        },
        fields,
    )
    assert verdicts == {
        "amount": "match",
        "payee_tax_id": "match",
        "payer_tax_id": "match",
        "end_to_end_id": "missing",
    }
    assert compare_expected({"amount": "150.01"}, fields) == {"amount": "mismatch"}
    assert compare_expected({"payer_tax_id": "123.999.789-09"}, fields) == {
        "payer_tax_id": "mismatch"
    }


def test_builtins_register_through_the_entry_point_group() -> None:
    assert GROUP == "folio.extractors"
    assert [e.document_type for e in installed()] == ["boleto", "nfe", "pix_receipt"]


def test_a_section_header_under_an_empty_label_is_no_value() -> None:
    # Given a receipt whose payee bank value was lost (a coarse photo), so
    # that the payer's section header follows the label
    page = (
        "Comprovante de Pix\nValor da transação R$ 390,34\n"
        "Dados do recebedor\nNome/Razão social Construtora Alicerce S.A.\nBanco\n"
        "Dados do pagador\nNome Ana Souza\nBanco Caixa Econômica Federal\n"
    )
    fields = extract([page]).fields
    # Then the header is not taken for the payee's bank
    assert "payee_institution" not in fields
    assert fields["payee_name"].value == "Construtora Alicerce S.A."
