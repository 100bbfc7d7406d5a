"""A third family of PIX receipt layouts, written after the extractors' rules
and apart from both earlier corpora, as a check that the rules generalise.

Other label wordings (``Valor da transferência``, ``Total pago``, ``Quantia
enviada``, ``Chave E2E``, ``ID/Transação``, ``Pago em``, ``Data e hora``,
``Realizado em``) next to noise labels (``Código de autenticação``, ``Nº de
controle``); dates as ``05 de dezembro de 2026 às 14h32``, ``Sex, 05/12/2026
- 14:32``, ``05.12.2026`` or ``dez 5, 2026``; receipts in English from the
same apps (``Amount``, ``Transaction ID``, ``Paid on``, amounts as
``R$ 1,234.56``); values on the line after their label, values right-aligned
in a column, parties in a table; institutions with their bank code
(``260 - Nu Pagamentos S.A.``); CPFs and CNPJs masked as receipts print them
(``***.456.789-**``, ``XXX.456.789-XX``, ``**.222.333/0001-**``), expected
as printed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from fields_corpus import FULL_MONTHS, MONTHS, Doc, fmt_cnpj, fmt_cpf, money
from fields_corpus_pix import _facts, _truth, _when

#: Bank codes (COMPE) of the corpus's institutions, printed before their names.
CODES = {
    "Nu Pagamentos S.A.": "260",
    "Itaú Unibanco S.A.": "341",
    "Banco do Brasil S.A.": "001",
    "Caixa Econômica Federal": "104",
    "Banco Inter S.A.": "077",
    "Banco Bradesco S.A.": "237",
    "Mercado Pago": "323",
    "PicPay Serviços S.A.": "380",
}
WEEKDAYS = ["Seg", "Ter", "Qua", "Qui", "Sex", "Sáb", "Dom"]
EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def masked_tax(d: str, mark: str = "*") -> str:
    """A tax id masked as receipts print it: a CPF's first three and last two
    digits hidden, a CNPJ's first two and last two."""
    if len(d) == 11:
        return f"{mark * 3}.{d[3:6]}.{d[6:9]}-{mark * 2}"
    return f"{mark * 2}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{mark * 2}"


def _coded(bank: str) -> str:
    return f"{CODES[bank]} - {bank}"


def _en_money(cents: int) -> str:
    whole, frac = divmod(cents, 100)
    return f"{whole:,}.{frac:02d}"


def _kind(d: str) -> str:
    return "CNPJ" if len(d) == 14 else "CPF"


def _truth_printed(f: dict[str, str], payer: str, payee: str) -> dict[str, str]:
    return _truth(f, payer_tax_id=payer, payee_tax_id=payee)


def transfer_next_line(rng: random.Random) -> Doc:
    """Every value on the line under its label; a spelled date with ``14h32``;
    ``Chave E2E``; both tax ids masked, a CNPJ too."""
    f = _facts(rng)
    w = _when(f)
    payer, payee = masked_tax(f["payer_tax_id"]), masked_tax(f["payee_tax_id"])
    lines = [
        "Comprovante de Pix",
        "",
        "Valor da transferência",
        f"R$ {money(int(f['cents']))}",
        "Data e hora",
        f"{w.day:02d} de {FULL_MONTHS[w.month - 1]} de {w.year} às {w:%H}h{w:%M}",
        "",
        "Recebedor",
        f["payee_name"],
        f"{_kind(f['payee_tax_id'])} {payee}",
        _coded(f["payee_institution"]),
        "",
        "Pagador",
        f["payer_name"],
        f"CPF {payer}",
        _coded(f["payer_bank"]),
        "",
        "Chave E2E",
        f["end_to_end_id"],
        "Código de autenticação",
        f"{rng.randrange(16**24):024X}",
    ]
    return Doc("next_line", "pix_receipt", lines, _truth_printed(f, payer, payee), small={18, 20})


def right_column(rng: random.Random) -> Doc:
    """Labels on the left, values right-aligned; ``Total pago``, ``Pago em`` with a
    weekday, ``ID/Transação`` and a control number."""
    f = _facts(rng)
    w = _when(f)
    payer = masked_tax(f["payer_tax_id"], "X")
    payee = f["payee_tax_id"]
    payee_printed = fmt_cnpj(payee) if len(payee) == 14 else masked_tax(payee, "X")
    lines = [
        "Pagamento Pix concluído",
        "",
        f"Total pago\tR$ {money(int(f['cents']))}",
        f"Pago em\t{WEEKDAYS[w.weekday()]}, {w:%d/%m/%Y} - {w:%H:%M}",
        f"Nº de controle\t{rng.randrange(10**10):010d}",
        "",
        f"Favorecido\t{f['payee_name']}",
        f"{_kind(payee)}\t{payee_printed}",
        f"Instituição\t{_coded(f['payee_institution'])}",
        "",
        f"Pagador\t{f['payer_name']}",
        f"CPF\t{payer}",
        f"Instituição\t{f['payer_bank']}",
        "",
        f"ID/Transação\t{f['end_to_end_id']}",
    ]
    truth = _truth_printed(f, payer, payee if len(payee) == 14 else payee_printed)
    right = {2, 3, 4, 6, 7, 8, 10, 11, 12, 14}
    return Doc("right_column", "pix_receipt", lines, truth, small={14}, right=right)


def sent_amount(rng: random.Random) -> Doc:
    """``Quantia enviada``, ``Realizado em`` with a dotted date, the parties as ``Enviado
    para``/``Enviado por``, the payee's CNPJ masked."""
    f = _facts(rng)
    w = _when(f)
    payer, payee = masked_tax(f["payer_tax_id"]), masked_tax(f["payee_tax_id"])
    lines = [
        "Transferência enviada",
        f"Quantia enviada: R$ {money(int(f['cents']))}",
        f"Realizado em: {w:%d.%m.%Y} às {w:%H:%M}",
        "",
        "Enviado para",
        f"Nome: {f['payee_name']}",
        f"Documento: {payee}",
        f"Banco: {_coded(f['payee_institution'])}",
        "",
        "Enviado por",
        f"Nome: {f['payer_name']}",
        f"Documento: {payer}",
        "",
        f"Nº de controle: {rng.randrange(10**12):012d}",
        f"ID/Transação: {f['end_to_end_id']}",
    ]
    return Doc("sent_amount", "pix_receipt", lines, _truth_printed(f, payer, payee), small={14})


def month_first(rng: random.Random) -> Doc:
    """A date as ``dez 5, 2026`` with the time after a comma, ``Valor pago`` under a
    table header, the parties as a table with the tax id in its own column."""
    f = _facts(rng)
    w = _when(f)
    payer = masked_tax(f["payer_tax_id"])
    payee = f["payee_tax_id"]
    lines = [
        "Comprovante de transferência Pix",
        f"{MONTHS[w.month - 1]} {w.day}, {w.year}, {w:%H:%M}",
        "",
        "Valor pago\tTarifa",
        f"R$ {money(int(f['cents']))}\tR$ 0,00",
        "",
        "Quem recebeu\tCPF/CNPJ\tInstituição",
        f"{f['payee_name']}\t{fmt_cnpj(payee) if len(payee) == 14 else fmt_cpf(payee)}"
        f"\t{CODES[f['payee_institution']]}",
        "",
        "Quem pagou\tCPF/CNPJ",
        f"{f['payer_name']}\t{payer}",
        "",
        f"Código de autenticação: {rng.randrange(16**16):016x}",
        "Identificação do Pix",
        f["end_to_end_id"],
    ]
    truth = _truth_printed(f, payer, payee)
    truth.pop("payee_institution")  # printed as its code alone
    return Doc("month_first", "pix_receipt", lines, truth, small={14})


def english_app(rng: random.Random) -> Doc:
    """An app set to English: an issue stamp and a fee above ``Amount`` (as
    ``R$ 1,234.56``) and ``Paid on Dec 5, 2026``, ``To``/``From`` sections,
    ``Transaction ID``."""
    f = _facts(rng)
    w = _when(f)
    payer, payee = masked_tax(f["payer_tax_id"]), masked_tax(f["payee_tax_id"])
    issued = w + timedelta(days=2, minutes=41)
    lines = [
        "Pix transfer receipt",
        f"Issued on {EN_MONTHS[issued.month - 1]} {issued.day}, {issued.year} {issued:%H:%M}",
        f"Fee: R$ {_en_money(250)}",
        f"Amount: R$ {_en_money(int(f['cents']))}",
        f"Paid on: {EN_MONTHS[w.month - 1]} {w.day}, {w.year} at {w:%H:%M}",
        "",
        "To",
        f"Name: {f['payee_name']}",
        f"Tax ID: {payee}",
        f"Institution: {f['payee_institution']}",
        "",
        "From",
        f"Name: {f['payer_name']}",
        f"Tax ID: {payer}",
        f"Institution: {f['payer_bank']}",
        "",
        f"Transaction ID: {f['end_to_end_id']}",
        f"Authentication code: {rng.randrange(16**20):020X}",
    ]
    return Doc("english_app", "pix_receipt", lines, _truth_printed(f, payer, payee), small={16})


def english_next_line(rng: random.Random) -> Doc:
    """English labels with their values on the next line, ``Date and time`` as
    ``05/12/2026 14:32``, ``Recipient``/``Sender``, bank codes before names."""
    f = _facts(rng)
    w = _when(f)
    payer = masked_tax(f["payer_tax_id"])
    payee = f["payee_tax_id"]
    lines = [
        "Pix sent",
        "Amount",
        f"R$ {_en_money(int(f['cents']))}",
        "Date and time",
        f"{w:%d/%m/%Y} {w:%H:%M}",
        "",
        "Recipient",
        f["payee_name"],
        f"{_kind(payee)} {fmt_cnpj(payee) if len(payee) == 14 else fmt_cpf(payee)}",
        _coded(f["payee_institution"]),
        "",
        "Sender",
        f["payer_name"],
        f"CPF {payer}",
        _coded(f["payer_bank"]),
        "",
        "End-to-end ID",
        f["end_to_end_id"],
    ]
    return Doc("english_next", "pix_receipt", lines, _truth_printed(f, payer, payee), small={17})


def date_time_label(rng: random.Random) -> Doc:
    """``Data e hora`` as ``05/12/2026 - 14:32:07`` after an issue stamp, ``Valor``
    right-aligned, ``Dados do favorecido`` with a ``Chave Pix`` line, ``ID da
    transação`` beside an ``Autenticação`` code."""
    f = _facts(rng)
    w = _when(f)
    payer = masked_tax(f["payer_tax_id"])
    payee = masked_tax(f["payee_tax_id"]) if len(f["payee_tax_id"]) == 11 else f["payee_tax_id"]
    lines = [
        "COMPROVANTE DE PAGAMENTO PIX",
        f"Data e hora\t{w:%d/%m/%Y} - {w:%H:%M}:{rng.randint(0, 59):02d}",
        f"Valor\tR$ {money(int(f['cents']))}",
        "",
        "DADOS DO FAVORECIDO",
        f"Nome\t{f['payee_name']}",
        f"CPF/CNPJ\t{payee if '*' in payee else _fmt(payee)}",
        f"Instituição\t{_coded(f['payee_institution'])}",
        f"Chave Pix\t{rng.choice(['+55 11 98765-4321', 'contato@exemplo.com.br'])}",
        "",
        "DADOS DO PAGADOR",
        f"Nome\t{f['payer_name']}",
        f"CPF/CNPJ\t{payer}",
        "",
        f"ID da transação\t{f['end_to_end_id']}",
        f"Autenticação\t{rng.randrange(16**12):012X}",
    ]
    right = {1, 2, 5, 6, 7, 8, 11, 12, 14, 15}
    truth = _truth_printed(f, payer, payee)
    return Doc("date_time", "pix_receipt", lines, truth, small={14}, right=right)


def _fmt(d: str) -> str:
    return fmt_cnpj(d) if len(d) == 14 else fmt_cpf(d)


WORDING_LAYOUTS: list[Callable[[random.Random], Doc]] = [
    transfer_next_line,
    right_column,
    sent_amount,
    month_first,
    english_app,
    english_next_line,
    date_time_label,
]
