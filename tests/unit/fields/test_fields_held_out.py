"""Layouts found on receipts, slips and DANFEs written apart from the
generated corpus, as banks print them: a bank's code before the slip's line,
names that start with a label's word, a section's name under its header, the
account holder at the top, old and new wordings side by side, a DANFE's
issuer without a label."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from fields_corpus import boleto_line, fmt_line, nfe_key

from folio_worker_docs.extraction import extract

E2E = "E18236120202612051732abcdEFGH123"
HEAD = f"Comprovante Pix\nValor: R$ 150,00\nData e hora: 05/12/2026 14:32\nID: {E2E}\n"


def _line() -> str:
    return boleto_line(random.Random(3), 15000, datetime(2026, 12, 10))


@pytest.mark.parametrize("code", ["237-2 ", "341-7   ", "104-0 | ", "001-9\t"])
def test_a_bank_s_code_before_the_digitable_line_is_no_part_of_it(code: str) -> None:
    line = _line()
    page = f"{code}{fmt_line(line)}\nVencimento 10/12/2026\nValor do documento 150,00"
    found = extract([page])
    assert found.document_type == "boleto"
    assert found.fields["digitable_line"].value == line
    assert found.fields["digitable_line"].valid is True


def test_a_bank_s_code_read_without_its_hyphen_is_left_out_too() -> None:
    line = _line()
    page = f"Boleto\n237 2 {fmt_line(line)}\nVencimento 10/12/2026"
    assert extract([page]).fields["digitable_line"].value == line


@pytest.mark.parametrize(
    ("section", "name"),
    [
        ("Recebedor", "Destino Viagens e Turismo Ltda"),
        ("Quem recebeu", "Favorecido Silva Comércio Ltda"),
        ("Dados do recebedor", "Origem Cafés Especiais ME"),
    ],
)
def test_a_name_under_its_section_s_header_may_start_with_a_header_s_word(
    section: str, name: str
) -> None:
    page = f"{HEAD}{section}\n{name}\nCNPJ: 11.222.333/0001-81\nPagador\nAna Lima\n"
    assert extract([page]).fields["payee_name"].value == name


@pytest.mark.parametrize(
    "name",
    [
        "Valor Real Imóveis Ltda",
        "Data Center Soluções em TI Ltda",
        "Conta Azul Contabilidade Ltda",
        "Destino Viagens Ltda",
        "Chave Mestra Chaveiro Ltda",
    ],
)
def test_a_sentence_s_payee_wrapped_to_the_next_line_may_start_with_a_label_s_word(
    name: str,
) -> None:
    page = f"Pix enviado\nVocê transferiu R$ 50,00 para\n{name}\n05/12/2026 às 14:32\nID: {E2E}"
    assert extract([page]).fields["payee_name"].value == name


def test_a_sentence_goes_on_past_the_name_at_a_date_not_at_a_word() -> None:
    page = f"Pix enviado\nVocê pagou R$ 50,00 para Estúdio Arte em Vidro em 05/12/2026\nID: {E2E}"
    assert extract([page]).fields["payee_name"].value == "Estúdio Arte em Vidro"


def test_who_will_receive_heads_the_payee_s_section() -> None:
    page = f"""Pix feito!
Valor: R$ 22,00
05/12/2026 14:32
Quem vai receber
Nome: Lívia Moraes Teixeira
CPF: •••.358.069-••
Instituição: NU PAGAMENTOS - IP
Quem pagou
Nome: Caio Rocha
ID: {E2E}"""
    fields = extract([page]).fields
    assert fields["payee_tax_id"].value == "•••.358.069-••"
    assert fields["payee_institution"].value == "NU PAGAMENTOS - IP"
    assert fields["payer_name"].value == "Caio Rocha"


def test_the_account_holder_at_the_top_is_the_payer_when_no_payer_section_is_printed() -> None:
    page = f"""SICOOB
COMPROVANTE DE TRANSFERÊNCIA PIX
Cooperativa: 3001   Conta: 12.345-6
Nome: SÉRGIO TAVARES PINHEIRO
Data Transferência: 05/12/2026
Hora: 14:32:10
Valor (R$): 150,00
Favorecido
Nome: THIAGO SIQUEIRA LEAL
Id. Transação: {E2E}"""
    fields = extract([page]).fields
    assert fields["payer_name"].value == "SÉRGIO TAVARES PINHEIRO"
    assert fields["payee_name"].value == "THIAGO SIQUEIRA LEAL"


def test_a_name_ends_where_its_tax_id_opens_a_bracket() -> None:
    page = f"""Seu boleto está disponível.
Beneficiário: Editora Horizonte S.A. (CNPJ 11.222.333/0001-81)
Pagador: Ana Lima
Vencimento: 10/12/2026
{fmt_line(_line())}"""
    fields = extract([page]).fields
    assert fields["beneficiary_name"].value == "Editora Horizonte S.A."
    assert fields["beneficiary_tax_id"].value == "11222333000181"


def test_a_slip_s_old_and_new_wordings_side_by_side_are_one_label() -> None:
    page = f"""Santander | 033-7
{fmt_line(_line())}
Vencimento: 10/12/2026
Beneficiário / Cedente: Condomínio Edifício Araucária
CNPJ: 11222333000181
Pagador / Sacado: Igor Fontes Meireles"""
    fields = extract([page]).fields
    assert fields["beneficiary_name"].value == "Condomínio Edifício Araucária"
    assert fields["payer_name"].value == "Igor Fontes Meireles"


def test_the_payer_s_cpf_under_the_beneficiary_s_row_is_not_the_beneficiary_s() -> None:
    page = f"""CAIXA | 104-0 | {fmt_line(_line())}
Beneficiário CPF/CNPJ Vencimento
COMPANHIA PAULISTA DE FORÇA E LUZ 11.222.333/0001-81 10/12/2026
Pagador
DÉBORA CUNHA AMARAL CPF 529.982.247-25"""
    assert extract([page]).fields["beneficiary_tax_id"].value == "11222333000181"


def _key(issuer: str) -> str:
    return nfe_key(random.Random(4), issuer, datetime(2026, 12, 5), 1, 4521)


def _danfe(head: str) -> str:
    """A DANFE under ``head`` (its issuer's lines), keyed to CNPJ 11.222.333/0001-81."""
    key = _key("11222333000181")
    return f"""{head}
DANFE - Documento Auxiliar da Nota Fiscal Eletrônica
Número 4521  Série 1  Emissão 05/12/2026
{" ".join(key[i : i + 4] for i in range(0, 44, 4))}
Destinatário: Thiago Siqueira Leal - CPF 529.982.247-25"""


@pytest.mark.parametrize(
    "head",
    [
        "Pet Shop Quatro Patas Eireli\nCNPJ: 11.222.333/0001-81  IE: 123.456.789.110",
        "PET SHOP QUATRO PATAS EIRELI DANFE NF-e\nAv. Paulista, 1000 - São Paulo - SP\n"
        "CNPJ 11.222.333/0001-81",
    ],
)
def test_a_danfe_s_issuer_printed_without_a_label_above_its_cnpj_is_the_issuer(
    head: str,
) -> None:
    page = _danfe(head)
    found = extract([page]).fields["issuer_name"]
    assert found.value.casefold() == "pet shop quatro patas eireli"


def test_a_short_danfe_s_customer_and_total_are_the_recipient_and_the_total() -> None:
    key = _key("11222333000181")
    page = f"""NOTA FISCAL ELETRÔNICA - DANFE
Emitente: Chave Mestra Chaveiro Ltda — CNPJ 11222333000181
NF-e nº 4521 / série 1
Chave:
{" ".join(key[i : i + 4] for i in range(0, 44, 4))}
Cliente: Aline Batista Rezende
CPF do cliente: 529.982.247-25
TOTAL R$ 286,13"""
    fields = extract([page]).fields
    assert fields["recipient_name"].value == "Aline Batista Rezende"
    assert fields["recipient_tax_id"].value == "52998224725"
    assert fields["total_amount"].value == "286.13"


STATEMENT = """Nubank
Extrato de movimentações
Helena Duarte - CPF •••.123.456-••
Período: 01/12/2026 a 07/12/2026
01/12/2026 Pix enviado - Maria Souza -R$ 150,00
ID: E18236120202612011732abcdEFGH123
02/12/2026 Pix recebido - João Lima R$ 80,00
ID: E18236120202612021015ZyXwVuT9876
03/12/2026 Pix enviado - Padaria Pão Quente -R$ 12,50
ID: E60701190202612031244QwErTy12345
Saldo final do período R$ 3.210,55"""


def test_a_statement_listing_several_transfers_by_their_ids_is_no_receipt() -> None:
    # a receipt's fields would be one line's, taken for the whole statement
    assert extract([STATEMENT]).document_type == "other"
    titled_otherwise = STATEMENT.replace("Extrato de movimentações", "Movimentações")
    assert extract([titled_otherwise.replace("Período", "De")]).document_type == "other"


def test_a_receipt_printing_its_one_id_twice_is_a_receipt() -> None:
    page = f"{HEAD}Recebedor\nAna Lima\nAutenticação: {E2E}\nSaldo disponível: R$ 10,00"
    assert extract([page]).document_type == "pix_receipt"


def test_a_scan_s_specks_and_blank_line_under_a_lone_header_keep_the_name_its_own() -> None:
    page = f"{HEAD}Recebedor ..\n\nDestino Viagens e Turismo Ltda\nCNPJ: 11.222.333/0001-81\n"
    assert extract([page]).fields["payee_name"].value == "Destino Viagens e Turismo Ltda"


def test_a_speck_after_a_bank_code_s_dash_is_passed_over() -> None:
    page = f"{HEAD}Favorecido\nNome: Ana Lima\nInstituição: 260 -. NU PAGAMENTOS S.A.\n"
    assert extract([page]).fields["payee_institution"].value == "NU PAGAMENTOS S.A."


@pytest.mark.parametrize(
    ("head", "issuer"),
    [
        (
            "PET SHOP QUATRO PATAS EIRELI\nAv. Paulista, 1000 - Bela Vista\n"
            "Fone: (11) 3333-4444\nCNPJ: 11.222.333/0001-81",
            None,
        ),
        (
            "PET SHOP QUATRO PATAS EIRELI\nRua das Flores, 100\n"
            "Bela Vista - São Paulo - SP\nCNPJ: 11.222.333/0001-81",
            None,
        ),
        (
            "PET SHOP QUATRO PATAS EIRELI\nINSCRIÇÃO ESTADUAL   CNPJ\n"
            "123.456.789.110   11.222.333/0001-81",
            "PET SHOP QUATRO PATAS EIRELI",
        ),
    ],
)
def test_a_label_or_an_address_over_a_danfe_s_cnpj_is_no_issuer_name(
    head: str, issuer: str | None
) -> None:
    # a phone, a header row of labels or a town and its state printed right
    # above the CNPJ is passed over: the name, or nothing
    page = _danfe(head)
    found = extract([page]).fields.get("issuer_name")
    assert (found and found.value) == issuer


def test_a_header_alone_on_its_line_under_a_line_ending_in_para_heads_its_section() -> None:
    page = f"""Comprovante de transferência para
Recebedor
Nome: Maria Souza
CPF: 529.982.247-25
Pagador
Nome: Ana Lima
{HEAD}"""
    fields = extract([page]).fields
    assert fields["payee_name"].value == "Maria Souza"
    assert fields["payee_tax_id"].value == "52998224725"
    assert fields["payer_name"].value == "Ana Lima"


def test_a_header_alone_on_its_line_under_an_empty_section_heads_its_own() -> None:
    # the payer's section printed empty: the payee's CPF is no payer's
    page = f"{HEAD}Origem\nDestino\nMaria Souza\nCPF: 529.982.247-25\n"
    fields = extract([page]).fields
    assert fields["payee_name"].value == "Maria Souza"
    assert fields["payee_tax_id"].value == "52998224725"
    assert "payer_tax_id" not in fields
