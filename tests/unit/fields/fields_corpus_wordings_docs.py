"""Boletos, DANFEs and non-payment documents of the third layout family, and
that corpus (with :mod:`fields_corpus_wordings`).

Boletos with the digitable line spaced in other ways (no dots, wide gaps,
groups of five, one run of 47 digits, split over two lines at another
place), ``Sacado``/``Cedente`` and ``Valor do boleto``; DANFEs with the access
key in groups of four on one line or in one run of 44 digits, ``Valor total
da nota``, ``Nº``/``Série`` on one line, ``Data de emissão`` in words; and
English or Portuguese documents about money that are not payments.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from fields_corpus import (
    COMPANIES,
    FULL_MONTHS,
    Doc,
    cnpj,
    cpf,
    fmt_cnpj,
    fmt_cpf,
    money,
    person,
)
from fields_corpus_variants import _boleto_facts, _boleto_truth, _br, _danfe_facts, _fmt_tax
from fields_corpus_wordings import WORDING_LAYOUTS


def _unspaced(line: str) -> str:
    """The line's five fields with wide gaps and no dots."""
    return f"{line[0:10]}  {line[10:21]}  {line[21:32]}  {line[32]}  {line[33:]}"


def boleto_wide(rng: random.Random) -> Doc:
    """The line with wide gaps and no dots, ``Cedente``/``Sacado``, ``Valor do boleto``."""
    due, cents, line, ben, tax, payer = _boleto_facts(rng)
    lines = [
        "Recibo do sacado",
        _unspaced(line),
        "",
        f"Cedente: {ben}",
        f"CNPJ do cedente: {fmt_cnpj(tax)}",
        f"Sacado: {payer}",
        f"CPF do sacado: {fmt_cpf(cpf(rng))}",
        f"Data de vencimento: {due:%d/%m/%Y}",
        f"Valor do boleto: R$ {money(cents)}",
        "Pagável preferencialmente nas agências do banco",
    ]
    return Doc("boleto_wide", "boleto", lines, _boleto_truth(due, cents, line, ben, tax, payer))


def boleto_run(rng: random.Random) -> Doc:
    """The line as one run of 47 digits after its label, a due date in words."""
    due, cents, line, ben, tax, payer = _boleto_facts(rng)
    lines = [
        "Pagamento de boleto - 2ª via",
        f"Código de barras: {line}",
        "",
        "Beneficiário final",
        f"{ben} - {fmt_cnpj(tax)}",
        "Pagador",
        f"{payer} - {fmt_cpf(cpf(rng))}",
        "",
        f"Vencimento: {due.day} de {FULL_MONTHS[due.month - 1]} de {due.year}",
        f"Valor cobrado: R$ {money(cents)}",
    ]
    return Doc("boleto_run", "boleto", lines, _boleto_truth(due, cents, line, ben, tax, payer))


def boleto_two_lines(rng: random.Random) -> Doc:
    """The line cut after its third field, the check digit and the value on the next line."""
    due, cents, line, ben, tax, payer = _boleto_facts(rng)
    first = f"{line[0:5]}.{line[5:10]} {line[10:15]}.{line[15:21]} {line[21:26]}.{line[26:32]}"
    lines = [
        "BOLETO",
        "Linha digitável",
        first,
        f"{line[32]} {line[33:]}",
        "",
        "Beneficiário\tCNPJ",
        f"{ben}\t{fmt_cnpj(tax)}",
        "Pagador",
        payer,
        "Vencimento\tValor do documento",
        f"{due:%d/%m/%Y}\t{money(cents)}",
    ]
    return Doc("boleto_two", "boleto", lines, _boleto_truth(due, cents, line, ben, tax, payer))


def danfe_run(rng: random.Random) -> Doc:
    """The key in one run of 44 digits, ``Nº``/``Série`` on one line, ``Valor total da nota``."""
    t = _danfe_facts(rng)
    when = datetime.strptime(t["issued_at"], "%Y-%m-%d")
    lines = [
        "DANFE - Documento Auxiliar da Nota Fiscal Eletrônica",
        f"Nº {int(t['number']):09d}   Série {t['series']}",
        f"Chave de acesso {t['access_key']}",
        "",
        "Emitente",
        t["issuer_name"],
        f"CNPJ {fmt_cnpj(t['issuer_tax_id'])}",
        "",
        "Destinatário",
        t["recipient_name"],
        f"CNPJ/CPF {_fmt_tax(t['recipient_tax_id'])}",
        f"Data de emissão: {when.day} de {FULL_MONTHS[when.month - 1]} de {when.year}",
        "",
        f"Valor total dos produtos: R$ {_br(t['total_amount'])}",
        f"Valor total da nota: R$ {_br(t['total_amount'])}",
    ]
    return Doc("danfe_run", "nfe", lines, t)


def danfe_fours(rng: random.Random) -> Doc:
    """The key in groups of four on one line under its label, ``Série``/``Nº`` as
    table headers, a freight line so the note's total differs from the products'."""
    t = _danfe_facts(rng)
    freight = rng.randint(100, 9_000)
    products = round(float(t["total_amount"]) * 100) - freight
    t["total_amount"] = f"{(products + freight) / 100:.2f}"
    when = datetime.strptime(t["issued_at"], "%Y-%m-%d")
    lines = [
        "NOTA FISCAL ELETRÔNICA",
        "Série\tNº\tEmissão",
        f"{int(t['series']):03d}\t{t['number']}\t{when:%d.%m.%Y}",
        "CHAVE DE ACESSO",
        " ".join(t["access_key"][i : i + 4] for i in range(0, 44, 4)),
        "",
        f"EMITENTE: {t['issuer_name']} - CNPJ {fmt_cnpj(t['issuer_tax_id'])}",
        f"DESTINATÁRIO: {t['recipient_name']} - {_fmt_tax(t['recipient_tax_id'])}",
        "",
        "Total dos produtos\tFrete\tValor total da nota",
        f"{money(products)}\t{money(freight)}\t{money(products + freight)}",
    ]
    return Doc("danfe_fours", "nfe", lines, t)


def english_invoice(rng: random.Random) -> Doc:
    due = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 330))
    lines = [
        "INVOICE",
        f"Bill to: {person(rng)}",
        f"From: {rng.choice(COMPANIES)} (CNPJ {fmt_cnpj(cnpj(rng))})",
        f"Invoice date: {due - timedelta(days=15):%b %d, %Y}",
        f"Due date: {due:%b %d, %Y}",
        f"Amount due: R$ {money(rng.randint(5_000, 90_000))}",
        "Pay by Pix or bank slip (boleto). Thank you for your business.",
    ]
    return Doc("en_invoice", "other", lines)


def pix_limits_notice(rng: random.Random) -> Doc:
    """A bank's notice about Pix limits: money, dates and ``Pix``, no payment."""
    when = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 330))
    lines = [
        "Aviso importante",
        f"Olá, {person(rng).split()[0]}. Seu limite noturno de Pix mudou em {when:%d/%m/%Y}.",
        f"Novo limite entre 20h e 6h: R$ {money(rng.randint(50_000, 500_000))}.",
        "Para alterar, acesse Meu Pix > Meus limites no aplicativo.",
        "Ouvidoria: 0800 123 4567",
    ]
    return Doc("pix_limits", "other", lines)


def english_statement(rng: random.Random) -> Doc:
    day = datetime(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
    rows = [
        f"{day + timedelta(days=i):%b %d}\tPix sent - {person(rng)}"
        f"\t-{money(rng.randint(500, 90_000))}"
        for i in range(5)
    ]
    lines = [
        "Account statement",
        f"Account holder: {person(rng)}",
        f"Period: {day:%b %d, %Y} to {day + timedelta(days=5):%b %d, %Y}",
        "Date\tDescription\tAmount (R$)",
        *rows,
    ]
    return Doc("en_statement", "other", lines)


def build_wordings_corpus(seed: int = 41) -> list[Doc]:
    """61 documents: 42 PIX receipts (7 layouts), 9 boletos, 6 DANFEs, 4 non-payment."""
    rng = random.Random(seed)
    docs = [layout(rng) for _ in range(6) for layout in WORDING_LAYOUTS]
    docs += [make(rng) for _ in range(3) for make in (boleto_wide, boleto_run, boleto_two_lines)]
    docs += [make(rng) for _ in range(3) for make in (danfe_run, danfe_fours)]
    docs += [english_invoice(rng), pix_limits_notice(rng), english_statement(rng)]
    docs += [pix_limits_notice(rng)]
    return docs
