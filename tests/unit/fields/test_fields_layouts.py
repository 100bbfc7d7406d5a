"""Layout rules on hand-written pages: what banks, apps and DANFEs print
differently (times apart from dates, unlabelled amounts and institutions, ids
over two lines, receipt stubs) and money talk that is no payment."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from fields_corpus import boleto_line, fmt_line, nfe_key

from folio_worker_docs.extraction import compare_expected, extract

E2E = "E18236120202612051732abcdEFGH123"


def test_a_time_printed_apart_from_the_date_completes_it() -> None:
    page = f"""comprovante de pagamento - pix
valor da transferência: R$ 80,00
data da transferência: 05/12/2026
horário: 14:32:10
emitido em 05/12/2026 18:00
ID da transação: {E2E}"""
    assert extract([page]).fields["paid_at"].value == "2026-12-05T14:32"


def test_a_time_after_a_bullet_or_the_t_of_an_iso_date_is_read() -> None:
    for printed in ("05 DEZ 2026 • 14:32", "2026-12-05T14:32:10-03:00"):
        page = f"Pix enviado\n{printed}\nValor: R$ 10,00\nID: {E2E}"
        assert extract([page]).fields["paid_at"].value == "2026-12-05T14:32", printed


def test_an_amount_with_its_currency_and_no_label_is_the_amount() -> None:
    page = f"Pix enviado\nR$ 9.034,06\nSábado, 05/12/2026 às 14:32\nID da transação {E2E}"
    assert extract([page]).fields["amount"].value == "9034.06"


def test_a_receipt_whose_id_a_photo_lost_is_still_a_pix_receipt() -> None:
    # Given an app's receipt read from a photo: its amount printed with the
    # currency and no label, its date unlabelled, and its id unreadable
    page = """Pix enviado
R$ 17.951,36
Terça-feira, 08/09/2026 às 14:47

Quem recebeu
Nome\tMercado Bom Preço S.A.
CPF/CNPJ\t38.503.827/0001-90

Quem pagou
Nome\tCamila Ribeiro Almeida

EBOTAGAAEZNaSOSOS 17 TESS"""
    # Then it is typed a PIX receipt, and its fields come out without an id
    found = extract([page])
    assert found.document_type == "pix_receipt"
    assert found.fields["amount"].value == "17951.36"
    assert "end_to_end_id" not in found.fields
    # while a page that shows no payment made (no wording of one, and only
    # the party to be paid, as a Pix charge prints) is not one
    charge = page.replace("Pix enviado", "Pix").split("Quem pagou")[0]
    assert extract([charge.replace("Quem recebeu", "Recebedor")]).document_type == "other"


def test_parties_under_other_headers_and_an_institution_without_a_label() -> None:
    page = f"""Comprovante de Pix
Informações do destinatário
Nome: Mercado Bom Preço S.A.
CNPJ: 11.222.333/0001-81
Instituição: 0341 - Itaú Unibanco S.A.
Dados de quem pagou
Ana Souza
CPF ***.456.789-**
Banco Bradesco S.A.
ID: {E2E}"""
    fields = extract([page]).fields
    assert fields["payee_name"].value == "Mercado Bom Preço S.A."
    assert fields["payee_institution"].value == "Itaú Unibanco S.A."
    assert fields["payer_name"].value == "Ana Souza"
    assert fields["payer_tax_id"].value == "***.456.789-**"


def test_an_unlabelled_institution_after_the_tax_id_keeps_banco_in_its_name() -> None:
    page = f"Comprovante de Pix\nPara\nAna Souza\nCPF ***.456.789-**\nBanco Bradesco S.A.\n{E2E}"
    assert extract([page]).fields["payee_institution"].value == "Banco Bradesco S.A."


def test_bills_and_statements_that_mention_pix_are_other() -> None:
    email = """De: Fatura Digital <faturas@provedor.com.br>
Para: ana@email.com
O valor da sua fatura é R$ 245,90, com vencimento em 10/01/2027.
Pague com Pix pelo QR code no aplicativo.
Data de emissão: 31/12/2026"""
    statement = """Extrato de conta corrente
Data      Lançamento      Valor (R$)
05/12     Pix enviado Ana Souza      -150,00
06/12     Pix recebido Paulo Lima      300,00
Saldo em 06/12/2026      1.250,00"""
    for page in (email, statement):
        assert extract([page]).document_type == "other", page


def test_a_digitable_line_and_an_access_key_over_two_lines() -> None:
    rng = random.Random(3)
    line = boleto_line(rng, 12_345, datetime(2026, 12, 5))
    printed = fmt_line(line)
    cut = printed.index(" ", 12)
    slip = f"Boleto bancário\nLinha digitável:\n{printed[:cut]}\n{printed[cut + 1 :]}\nVencimento"
    assert extract([slip]).fields["digitable_line"].value == line
    key = nfe_key(rng, "11222333000181", datetime(2026, 12, 5), 1, 4242)
    groups = [key[i : i + 4] for i in range(0, 44, 4)]
    danfe = f"DANFE\nCHAVE DE ACESSO\n{' '.join(groups[:6])}\n{' '.join(groups[6:])}\n"
    assert extract([danfe]).fields["access_key"].value == key


@pytest.mark.parametrize("joint", ["-", "."])
def test_an_access_key_in_groups_joined_by_hyphens_or_dots(joint: str) -> None:
    key = nfe_key(random.Random(5), "11222333000181", datetime(2026, 12, 5), 1, 777)
    printed = joint.join(key[i : i + 4] for i in range(0, 44, 4))
    danfe = f"DANFE\nChave de acesso\n{printed}\nValor total da nota: R$ 99,00\n"
    found = extract([danfe]).fields["access_key"]
    assert (found.value, found.valid) == (key, True)
    assert danfe[found.span[0] : found.span[1]] == printed


def test_a_danfe_stub_names_the_issuer_and_a_header_line_the_recipient() -> None:
    key = nfe_key(random.Random(4), "11222333000181", datetime(2026, 12, 5), 1, 42613)
    page = f"""RECEBEMOS DE OFICINA DO ZÉ LTDA OS PRODUTOS CONSTANTES DA NOTA FISCAL
DANFE SIMPLIFICADO
Chave de acesso: {key}
Número: 42613      Série: 1      Emissão: 05/12/2026
Destinatário
Ana Souza  CPF/CNPJ: 529.982.247-25"""
    fields = extract([page]).fields
    assert fields["issuer_name"].value == "OFICINA DO ZÉ LTDA"
    assert fields["number"].value == "42613"
    assert fields["recipient_name"].value == "Ana Souza"


def test_a_split_line_with_a_scan_speck_before_or_after_a_part_is_joined() -> None:
    line = boleto_line(random.Random(5), 33_354, datetime(2026, 12, 5))
    printed = fmt_line(line)
    cut = printed.index(" ", 12)
    for first, second in (
        (f"{printed[:cut]} .", printed[cut + 1 :]),
        (f"- {printed[:cut]}", printed[cut + 1 :]),
    ):
        slip = f"Boleto bancário\nLinha digitável:\n{first}\n{second}\nVencimento"
        assert extract([slip]).fields["digitable_line"].value == line, first


def test_a_split_line_with_one_misread_digit_is_corrected_and_says_so() -> None:
    # Given a slip whose line, printed over two lines, was read with one digit
    # of its amount wrong (15000 as 16000), and its amount and due date printed
    line = boleto_line(random.Random(3), 15_000, datetime(2026, 3, 10))
    misread = line[:-4] + "6" + line[-3:]
    printed = fmt_line(misread)
    cut = printed.index(" ", 12)
    slip = (
        f"Boleto bancário\nLinha digitável:\n{printed[:cut]}\n{printed[cut + 1 :]}\n\n"
        "Vencimento\tValor cobrado\n10/03/2026\tR$ 150,00\n"
    )
    # When extracted
    got = extract([slip]).fields["digitable_line"]
    # Then the line is corrected, marked less sure, the line as read beside it
    assert (got.value, got.valid) == (line, True)
    assert got.confidence < 0.95
    assert [a.value for a in got.alternatives] == [misread]
    assert got.alternatives[0].valid is False
    # And a slip printing another amount gets no correction: the two lines
    # join into no valid line, so none is returned
    other = slip.replace("R$ 150,00", "R$ 99,00")
    assert "digitable_line" not in extract([other]).fields


def test_a_name_with_a_parenthesis_is_read_whole() -> None:
    page = f"""Comprovante Pix
Valor: R$ 10,00
Data: 05/12/2026 14:32
Recebedor
Nome: Maria Souza Lima
Instituição: Banco Santander (Brasil) S.A.
ID: {E2E}"""
    fields = extract([page]).fields
    assert fields["payee_institution"].value == "Banco Santander (Brasil) S.A."
    assert fields["payee_name"].value == "Maria Souza Lima"


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("***.456.789-**", "***.456.789-**"),
        ("123.456.***-**", "123.456.***-**"),
        ("***.***.789-09", "***.***.789-09"),
        ("*** 456 789 **", "***.456.789-**"),
        ("***456789**", "***.456.789-**"),
        ("123456***09", "123.456.***-09"),
    ],
)
def test_a_cpf_masked_in_any_groups_is_kept_as_printed(printed: str, value: str) -> None:
    page = f"""Comprovante Pix
Valor: R$ 10,00
Data: 05/12/2026 14:32
Pagador
Nome: Ana Lima
CPF: {printed}
ID: {E2E}"""
    found = extract([page])
    assert found.fields["payer_tax_id"].value == value
    assert found.fields["payer_tax_id"].valid is None
    verdicts = compare_expected({"payer_tax_id": "123.456.789-09"}, found.fields)
    assert verdicts == {"payer_tax_id": "match"}


@pytest.mark.parametrize("printed", ["***.***.***-**", "*** *** *** **", "xxx.xxx.xxx-xx"])
def test_a_cpf_masked_whole_is_no_tax_id(printed: str) -> None:
    # nothing of it is printed: no value to keep (not an empty one)
    page = f"""Comprovante Pix
Valor: R$ 10,00
Data: 05/12/2026 14:32
Pagador
Nome: Ana Lima
CPF: {printed}
Recebedor
Nome: Padaria Pão Quente Ltda
CNPJ: 11.222.333/0001-81
ID: {E2E}"""
    fields = extract([page]).fields
    assert "payer_tax_id" not in fields
    assert fields["payee_tax_id"].value == "11222333000181"


@pytest.mark.parametrize(
    ("sentence", "payee"),
    [
        ("Você transferiu R$ 1.234,56 para MARIA SOUZA LIMA em 05/12/2026", "MARIA SOUZA LIMA"),
        ("Pix de R$ 50,00 para Padaria Pão Quente Ltda, hoje às 09:10", "Padaria Pão Quente Ltda"),
        ("Você enviou 310,00 para Juliana Costa Ribeiro via Pix", "Juliana Costa Ribeiro"),
    ],
)
def test_a_payee_named_in_a_sentence_is_the_payee(sentence: str, payee: str) -> None:
    page = f"Pix enviado\n{sentence}\nData: 05/12/2026 14:32\nID: {E2E}"
    assert extract([page]).fields["payee_name"].value == payee


@pytest.mark.parametrize(
    ("next_line", "payee"),
    [
        ("MARIA SOUZA LIMA", "MARIA SOUZA LIMA"),  # a narrow screen wraps the name
        ("Pagador Ana Lima", None),  # another party's section
        ("Nome: Ana Lima", None),
        ("Conta corrente 1234-5", None),
        ("", None),  # a blank line ends the sentence
    ],
)
def test_a_sentence_s_payee_is_on_the_para_line_or_wrapped_to_the_next_unlabelled_one(
    next_line: str, payee: str | None
) -> None:
    # Given "para" ending its line: the next line is the name only when it
    # is one, never a labelled line of another part of the receipt
    page = f"Pix enviado\nVocê transferiu R$ 50,00 para\n{next_line}\nMaria\nID: {E2E}"
    found = extract([page]).fields.get("payee_name")
    assert (found.value if found else None) == payee


def test_a_labelled_payee_comes_before_one_named_in_a_sentence() -> None:
    page = f"""Comprovante Pix
Você pagou R$ 10,00 para João Silva
Para
Nome: Ana Maria Lima
Data: 05/12/2026 10:00
ID: {E2E}"""
    payee = extract([page]).fields["payee_name"]
    assert (payee.value, [a.value for a in payee.alternatives]) == (
        "Ana Maria Lima",
        ["João Silva"],
    )


def test_a_payment_date_written_month_first_is_read_with_its_12_hour_time() -> None:
    # an app set to English prints the month first and a 12-hour clock;
    # Portuguese dates on the same extractor are still read day first
    for printed, paid_at in [
        ("Dec 5, 2026, 2:32 PM", "2026-12-05T14:32"),
        ("December 5, 2026 at 9:05 AM", "2026-12-05T09:05"),
        ("05/12/2026 14:32", "2026-12-05T14:32"),
        ("5 dez 2026 às 14:32", "2026-12-05T14:32"),
    ]:
        page = f"Pix enviado\nValor: R$ 10,00\nData: {printed}\nID: {E2E}"
        assert extract([page]).fields["paid_at"].value == paid_at, printed


@pytest.mark.parametrize(
    ("printed", "institution"),
    [
        (
            "Nu Pagamentos S.A. - Instituição de Pagamento",
            "Nu Pagamentos S.A. - Instituição de Pagamento",
        ),
        (
            "0260 - Nu Pagamentos S.A. - Instituição de Pagamento",
            "Nu Pagamentos S.A. - Instituição de Pagamento",
        ),
        ("Nu Pagamentos - IP", "Nu Pagamentos - IP"),
        ("PicPay Instituição de Pagamento S.A.", "PicPay Instituição de Pagamento S.A."),
    ],
)
def test_a_payee_institution_keeps_its_qualifier_as_printed(printed: str, institution: str) -> None:
    # names are kept as printed (docs/pipeline.md): a payment institution's
    # qualifier is part of its registered name; only a bank code goes
    page = f"""Comprovante Pix
Valor: R$ 10,00
Data: 05/12/2026 14:32
Para
Nome: Maria Souza
Instituição: {printed}
ID: {E2E}"""
    fields = extract([page]).fields
    assert fields["payee_institution"].value == institution
    assert compare_expected({"payee_institution": institution.upper()}, fields) == {
        "payee_institution": "match"
    }
