"""Boleto, DANFE and non-payment layouts the first corpus does not draw, and
the corpus of unseen layouts (with :mod:`fields_corpus_banks`).

Boletos with the digitable line split over two lines or printed as bare
digit groups, amounts and due dates in one header row, parties with their tax
id on the same line; DANFEs with a receipt stub (``RECEBEMOS DE ...``), the
key in groups of four over two lines, the issue and exit dates side by side,
the simplified label layout; and documents that talk about money, Pix,
boletos and due dates without being one: an invoice e-mail, a contract
clause, a bank statement, a card bill, a service invoice, a Pix charge. Used
to check that the rules hold on layouts they were not written from.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from fields_corpus import (
    COMPANIES,
    Doc,
    boleto_line,
    cnpj,
    cpf,
    fmt_cnpj,
    fmt_cpf,
    fmt_line,
    money,
    nfe_key,
    person,
)
from fields_corpus_banks import BANK_LAYOUTS


def _boleto_facts(rng: random.Random) -> tuple[datetime, int, str, str, str, str]:
    due = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 330))
    cents = rng.randint(1_000, 900_000)
    return due, cents, boleto_line(rng, cents, due), rng.choice(COMPANIES), cnpj(rng), person(rng)


def _boleto_truth(due: datetime, cents: int, line: str, ben: str, tax: str, payer: str) -> dict:
    return {
        "digitable_line": line,
        "amount": f"{cents / 100:.2f}",
        "due_date": due.strftime("%Y-%m-%d"),
        "beneficiary_name": ben,
        "beneficiary_tax_id": tax,
        "payer_name": payer,
    }


def boleto_split(rng: random.Random) -> Doc:
    """The line over two lines, due date and amount in one row, parties with their tax ids."""
    due, cents, line, ben, tax, payer = _boleto_facts(rng)
    printed = fmt_line(line)
    cut = printed.index(" ", 12)
    lines = [
        "Boleto bancário",
        "Linha digitável:",
        printed[:cut],
        printed[cut + 1 :],
        "",
        "Vencimento\tValor cobrado",
        f"{due:%d/%m/%Y}\tR$ {money(cents)}",
        "",
        f"Beneficiário: {ben} - CNPJ: {fmt_cnpj(tax)}",
        f"Pagador: {payer} - CPF: {fmt_cpf(cpf(rng))}",
        "Nosso número: 00012345-6",
        "Instruções: não receber após 30 dias do vencimento.",
    ]
    return Doc("boleto_split", "boleto", lines, _boleto_truth(due, cents, line, ben, tax, payer))


def boleto_spaced(rng: random.Random) -> Doc:
    """The line as bare groups of digits, the payer first, ``Data de vencimento`` with dots."""
    due, cents, line, ben, tax, payer = _boleto_facts(rng)
    groups = " ".join(line[i : i + 5] for i in range(0, 47, 5))
    lines = [
        "FICHA DE COMPENSAÇÃO",
        groups,
        "",
        "Pagador",
        f"{payer}  CPF {fmt_cpf(cpf(rng))}",
        "Data de vencimento",
        f"{due:%d.%m.%Y}",
        "(=) Valor do documento",
        f"{money(cents)}",
        "(+) Juros / Multa",
        "",
        "Beneficiário",
        ben,
        f"CNPJ {fmt_cnpj(tax)}",
        "Local de pagamento: pagável em qualquer banco",
    ]
    return Doc("boleto_spaced", "boleto", lines, _boleto_truth(due, cents, line, ben, tax, payer))


def _danfe_facts(rng: random.Random) -> dict[str, str]:
    when = datetime(2026, 1, 2) + timedelta(days=rng.randint(0, 330))
    issuer, issuer_tax = rng.choice(COMPANIES), cnpj(rng)
    recipient = person(rng) if rng.random() < 0.5 else rng.choice(COMPANIES)
    rec_tax = cnpj(rng) if recipient in COMPANIES else cpf(rng)
    series, number = rng.randint(1, 9), rng.randint(1, 999_999)
    return {
        "access_key": nfe_key(rng, issuer_tax, when, series, number),
        "number": str(number),
        "series": str(series),
        "issued_at": when.strftime("%Y-%m-%d"),
        "issuer_name": issuer,
        "issuer_tax_id": issuer_tax,
        "recipient_name": recipient,
        "recipient_tax_id": rec_tax,
        "total_amount": f"{rng.randint(5_000, 5_000_000) / 100:.2f}",
    }


def _fmt_tax(d: str) -> str:
    return fmt_cnpj(d) if len(d) == 14 else fmt_cpf(d)


def _br(amount: str) -> str:
    return money(round(float(amount) * 100))


def danfe_stub(rng: random.Random) -> Doc:
    """A receipt stub naming the issuer first, the key in fours over two lines,
    the issue and exit dates in one row."""
    t = _danfe_facts(rng)
    key = [t["access_key"][i : i + 4] for i in range(0, 44, 4)]
    num = f"{int(t['number']):09d}"
    when = datetime.strptime(t["issued_at"], "%Y-%m-%d")
    lines = [
        f"RECEBEMOS DE {t['issuer_name'].upper()} OS PRODUTOS CONSTANTES DA NOTA FISCAL",
        f"NF-e Nº {num[:3]}.{num[3:6]}.{num[6:]} SÉRIE {int(t['series']):03d}",
        "",
        "DANFE\tIDENTIFICAÇÃO DO EMITENTE",
        f"0 - ENTRADA\t{t['issuer_name']}",
        "1 - SAÍDA\tAv. Brasil, 2000 - Campinas - SP",
        "CHAVE DE ACESSO",
        " ".join(key[:6]),
        " ".join(key[6:]),
        f"CNPJ: {fmt_cnpj(t['issuer_tax_id'])}\tIE: 244.123.456.110",
        "DESTINATÁRIO/REMETENTE",
        "NOME/RAZÃO SOCIAL\tCNPJ/CPF",
        f"{t['recipient_name']}\t{_fmt_tax(t['recipient_tax_id'])}",
        "DATA DA EMISSÃO\tDATA DA SAÍDA/ENTRADA",
        f"{when:%d/%m/%Y}\t{when + timedelta(days=2):%d/%m/%Y}",
        "V. TOTAL PRODUTOS\tV. TOTAL DA NOTA",
        f"{_br(t['total_amount'])}\t{_br(t['total_amount'])}",
    ]
    return Doc("danfe_stub", "nfe", lines, t)


def danfe_label(rng: random.Random) -> Doc:
    """The simplified DANFE (a shipping label): parties and numbers on single lines."""
    t = _danfe_facts(rng)
    key = " ".join(t["access_key"][i : i + 4] for i in range(0, 44, 4))
    when = datetime.strptime(t["issued_at"], "%Y-%m-%d")
    lines = [
        "DANFE SIMPLIFICADO - ETIQUETA",
        f"Chave de acesso: {key}",
        f"Protocolo de autorização: 1352600{rng.randrange(10**8):08d} {when:%d/%m/%Y}",
        f"Número: {t['number']}\tSérie: {t['series']}\tEmissão: {when:%d/%m/%Y} 09:15",
        "",
        "Emitente",
        f"{t['issuer_name']}  CNPJ: {fmt_cnpj(t['issuer_tax_id'])}",
        "Destinatário",
        f"{t['recipient_name']}  CPF/CNPJ: {_fmt_tax(t['recipient_tax_id'])}",
        "",
        f"Valor total da NF-e: R$ {_br(t['total_amount'])}",
    ]
    return Doc("danfe_label", "nfe", lines, t)


def invoice_email(rng: random.Random) -> Doc:
    name = person(rng)
    due = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 330))
    lines = [
        "De: Fatura Digital <faturas@provedor.com.br>",
        f"Para: {name.split()[0].lower()}@email.com",
        f"Assunto: Sua fatura de {due:%m/%Y} chegou",
        "",
        f"Olá, {name.split()[0]}!",
        f"O valor da sua fatura é R$ {money(rng.randint(5_000, 60_000))}, com vencimento em"
        f" {due:%d/%m/%Y}.",
        "Pague com Pix pelo QR code no aplicativo ou com o boleto em anexo.",
        "Data de emissão: " + f"{due - timedelta(days=10):%d/%m/%Y}",
        "Se já pagou, desconsidere esta mensagem.",
    ]
    return Doc("invoice_email", "other", lines)


def contract_clause(rng: random.Random) -> Doc:
    lines = [
        "CONTRATO DE PRESTAÇÃO DE SERVIÇOS",
        f"CONTRATANTE: {person(rng)}, CPF {fmt_cpf(cpf(rng))}",
        f"CONTRATADA: {rng.choice(COMPANIES)}, CNPJ {fmt_cnpj(cnpj(rng))}",
        "CLÁUSULA TERCEIRA - DO PAGAMENTO",
        "O CONTRATANTE pagará à CONTRATADA o valor total de"
        f" R$ {money(rng.randint(10**5, 10**7))},",
        "em parcelas mensais, por Pix para a chave CNPJ da CONTRATADA ou por boleto,",
        "com vencimento no dia 10 de cada mês. O atraso acarreta multa de 2% e juros de 1%.",
        f"São Paulo, {rng.randint(1, 28)} de março de 2026.",
    ]
    return Doc("contract", "other", lines)


def bank_statement(rng: random.Random) -> Doc:
    day = datetime(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
    rows = []
    for i in range(6):
        what = rng.choice(["Pix enviado", "Pix recebido", "Pagamento de boleto", "Tarifa"])
        sign = "-" if what != "Pix recebido" else ""
        amount = money(rng.randint(500, 90_000))
        rows.append(f"{day + timedelta(days=i):%d/%m}\t{what} {person(rng)}\t{sign}{amount}")
    lines = [
        "Extrato de conta corrente",
        f"Cliente: {person(rng)}\tAgência 1234 Conta 56789-0",
        f"Período: {day:%d/%m/%Y} a {day + timedelta(days=6):%d/%m/%Y}",
        "Data\tLançamento\tValor (R$)",
        *rows,
        f"Saldo em {day + timedelta(days=6):%d/%m/%Y}\t\t{money(rng.randint(10_000, 900_000))}",
    ]
    return Doc("statement", "other", lines)


def card_bill(rng: random.Random) -> Doc:
    due = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 330))
    total = rng.randint(10_000, 900_000)
    lines = [
        "Fatura do cartão de crédito",
        f"Titular: {person(rng)}",
        f"Vencimento: {due:%d/%m/%Y}\tTotal da fatura: R$ {money(total)}",
        f"Pagamento mínimo: R$ {money(total // 10)}",
        f"{due - timedelta(days=20):%d/%m}\tMERCADO BOM PRECO\t{money(rng.randint(500, 50_000))}",
        f"{due - timedelta(days=18):%d/%m}\tPIX PARCELADO\t{money(rng.randint(500, 50_000))}",
        "Pague com Pix ou débito automático.",
    ]
    return Doc("card_bill", "other", lines)


def service_invoice(rng: random.Random) -> Doc:
    """A municipal service invoice (NFS-e): a fiscal document, but no NF-e and no key."""
    when = datetime(2026, 1, 2) + timedelta(days=rng.randint(0, 330))
    lines = [
        "PREFEITURA MUNICIPAL DE SÃO PAULO",
        "NOTA FISCAL DE SERVIÇOS ELETRÔNICA - NFS-e",
        f"Número da nota: {rng.randint(1, 99999):08d}\tEmissão: {when:%d/%m/%Y} 10:11:12",
        f"Código de verificação: {rng.randrange(16**8):08X}",
        "PRESTADOR DE SERVIÇOS",
        f"Razão social: {rng.choice(COMPANIES)}\tCNPJ: {fmt_cnpj(cnpj(rng))}",
        "TOMADOR DE SERVIÇOS",
        f"Nome: {person(rng)}\tCPF: {fmt_cpf(cpf(rng))}",
        f"VALOR TOTAL DO SERVIÇO = R$ {money(rng.randint(5_000, 500_000))}",
    ]
    return Doc("nfse", "other", lines)


def pix_charge(rng: random.Random) -> Doc:
    """A Pix payment request (a charge with its copy-and-paste code): asked for, not paid."""
    due = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 330))
    lines = [
        "Cobrança Pix",
        f"Pague R$ {money(rng.randint(1_000, 90_000))} até {due:%d/%m/%Y}",
        f"Beneficiário: {rng.choice(COMPANIES)}",
        f"CNPJ: {fmt_cnpj(cnpj(rng))}",
        "Pix copia e cola:",
        "00020126580014br.gov.bcb.pix0136"
        + "".join(rng.choice("0123456789abcdef") for _ in range(36)),
    ]
    return Doc("pix_charge", "other", lines)


def build_unseen_corpus(seed: int = 31) -> list[Doc]:
    """60 documents: 40 PIX receipts (10 layouts), 6 boletos, 6 DANFEs, 8 non-payment."""
    rng = random.Random(seed)
    docs = [layout(rng) for _ in range(4) for layout in BANK_LAYOUTS]
    docs += [make(rng) for _ in range(3) for make in (boleto_split, boleto_spaced)]
    docs += [make(rng) for _ in range(3) for make in (danfe_stub, danfe_label)]
    others = [invoice_email, contract_clause, bank_statement, card_bill]
    docs += [make(rng) for make in (*others, service_invoice, pix_charge)]
    docs += [invoice_email(rng), bank_statement(rng)]
    return docs
