"""PIX receipt layouts the first corpus does not draw, as other banks and apps print them.

Kept apart from :mod:`fields_corpus_pix` so that the rules can be checked on
layouts they were not written from: other label wordings (``Quantia paga``,
``Valor da transferência``, ``Total``, ``Código de autenticação``,
``Realizado em``), the date and the time on separate lines, amounts without a
label or as ``1.234,56 BRL``, parties led by ``Pago para``/``Dados de quem
recebeu``, CPFs masked with ``•`` or ``X``, CNPJs without punctuation,
institutions printed without a label.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from fields_corpus import FULL_MONTHS, MONTHS, Doc, fmt_cnpj, fmt_cpf, money
from fields_corpus_pix import _facts, _tax, _truth, _when

WEEKDAYS = ["Segunda-feira", "Terça-feira", "Quarta-feira", "Quinta-feira", "Sexta-feira"]
WEEKDAYS += ["Sábado", "Domingo"]


def _mask(d: str, mark: str) -> str:
    return f"{mark * 3}.{d[3:6]}.{d[6:9]}-{mark * 2}"


def _payee_tax(f: dict[str, str], mark: str = "*", plain: bool = False) -> str:
    """The payee's tax id as apps print it: a CPF masked, a CNPJ whole."""
    d = f["payee_tax_id"]
    if len(d) == 11:
        return _mask(d, mark)
    return d if plain else fmt_cnpj(d)


def _printed(tax: str) -> str:
    """A tax id's expected value: a masked one as printed, else its digits."""
    return tax if any(mark in tax for mark in "*•X") else re.sub(r"\D", "", tax)


def _truth_masked(f: dict[str, str], payer: str, payee: str) -> dict[str, str]:
    return _truth(f, payer_tax_id=_printed(payer), payee_tax_id=_printed(payee))


def itau_app(rng: random.Random) -> Doc:
    """Lower-case labels, the date and the time on two lines, ``dados de quem ...``."""
    f = _facts(rng)
    w = _when(f)
    payer, payee = _mask(f["payer_tax_id"], "*"), _payee_tax(f)
    lines = [
        "itaú",
        "comprovante de pagamento - pix",
        "",
        f"valor da transferência: R$ {money(int(f['cents']))}",
        f"data da transferência: {w:%d/%m/%Y}",
        f"horário: {w:%H:%M:%S}",
        "tipo de pagamento: Pix",
        "",
        "dados de quem recebeu",
        f"nome: {f['payee_name']}",
        f"CPF / CNPJ: {payee}",
        f"instituição: {f['payee_institution']}",
        f"chave: {rng.choice(['(11) 98765-4321', 'pagamentos@exemplo.com.br'])}",
        "",
        "dados de quem pagou",
        f"nome: {f['payer_name']}",
        f"CPF: {payer}",
        "agência/conta: 1234/56789-0",
        "",
        f"ID da transação: {f['end_to_end_id']}",
        f"autenticação: {rng.randrange(16**16):016X}",
    ]
    return Doc("itau_app", "pix_receipt", lines, _truth_masked(f, payer, payee), small={19, 20})


def bradesco(rng: random.Random) -> Doc:
    """``Favorecido``/``Pagador`` sections, a tariff line and a dated authentication."""
    f = _facts(rng)
    w = _when(f)
    payee = _tax(f["payee_tax_id"])
    lines = [
        "Bradesco",
        "Comprovante de Transação Pix",
        f"Data e Hora: {w:%d/%m/%Y} - {w:%H:%M:%S}",
        "",
        f"Valor: R$ {money(int(f['cents']))}",
        f"Tarifa: R$ {rng.choice(['0,00', '2,50'])}",
        "Descrição: -",
        "",
        "Favorecido",
        f"Nome: {f['payee_name']}",
        f"CPF/CNPJ: {payee}",
        f"Instituição: {f['payee_institution']}",
        "",
        "Pagador",
        f"Nome: {f['payer_name']}",
        f"CPF/CNPJ: {fmt_cpf(f['payer_tax_id'])}",
        "Instituição: Banco Bradesco S.A.",
        "",
        f"Número de controle: {rng.randrange(10**9):09d}",
        f"Identificação: {f['end_to_end_id']}",
    ]
    return Doc("bradesco", "pix_receipt", lines, _truth(f), small={19})


def banco_do_brasil(rng: random.Random) -> Doc:
    """A terminal-style receipt in capitals: ``PAGO PARA``, the payer as ``CLIENTE``."""
    f = _facts(rng)
    w = _when(f)
    payee = _tax(f["payee_tax_id"])
    lines = [
        "SISBB - SISTEMA DE INFORMACOES BANCO DO BRASIL",
        f"{w:%d/%m/%Y} - AUTO-ATENDIMENTO - {w:%H:%M:%S}",
        "COMPROVANTE DE PIX",
        "",
        f"CLIENTE: {f['payer_name'].upper()}",
        "AGENCIA: 1234-5    CONTA: 12.345-6",
        "==========================================",
        f"PAGO PARA: {f['payee_name'].upper()}",
        f"{'CNPJ' if len(f['payee_tax_id']) == 14 else 'CPF'}: {payee}",
        f"INSTITUICAO: {f['payee_institution'].upper()}",
        "------------------------------------------",
        f"DATA: {w:%d/%m/%Y}",
        f"VALOR: {money(int(f['cents']))}",
        "------------------------------------------",
        f"DOCUMENTO: {w:%d%m}01",
        f"ID: {f['end_to_end_id']}",
    ]
    truth = _truth(f, payer_tax_id="")  # the terminal prints no payer tax id
    return Doc("bb", "pix_receipt", lines, truth, small={15})


def caixa(rng: random.Random) -> Doc:
    """``Destinatário``/``Remetente``, ``Data/hora da operação``, a security code."""
    f = _facts(rng)
    w = _when(f)
    payer = _mask(f["payer_tax_id"], "*")
    payee = _payee_tax(f)
    lines = [
        "CAIXA",
        "Comprovante de Pix enviado",
        "",
        f"Data/hora da operação: {w:%d/%m/%Y} {w:%H:%M:%S}",
        f"Valor: R$ {money(int(f['cents']))}",
        "",
        "Dados do destinatário",
        f"Nome: {f['payee_name']}",
        f"CPF/CNPJ: {payee}",
        f"Instituição: {f['payee_institution']}",
        "",
        "Dados do remetente",
        f"Nome: {f['payer_name']}",
        f"CPF: {payer}",
        "Instituição: Caixa Econômica Federal",
        "",
        f"Identificador: {f['end_to_end_id']}",
        f"Código da operação: {rng.randrange(10**8):08d}",
        f"Chave de segurança: {rng.randrange(16**16):016X}",
    ]
    return Doc("caixa", "pix_receipt", lines, _truth_masked(f, payer, payee), small={16})


def inter(rng: random.Random) -> Doc:
    """The amount under a heading with no label, the date with a weekday, values beside labels."""
    f = _facts(rng)
    w = _when(f)
    payer, payee = _mask(f["payer_tax_id"], "•"), _payee_tax(f, "•")
    lines = [
        "Pix enviado",
        f"R$ {money(int(f['cents']))}",
        f"{WEEKDAYS[w.weekday()]}, {w:%d/%m/%Y} às {w:%H:%M}",
        "",
        "Quem recebeu",
        f"Nome\t{f['payee_name']}",
        f"CPF/CNPJ\t{payee}",
        f"Instituição\t{f['payee_institution']}",
        "",
        "Quem pagou",
        f"Nome\t{f['payer_name']}",
        f"CPF/CNPJ\t{payer}",
        "Instituição\tBanco Inter S.A.",
        "",
        f"ID da transação\t{f['end_to_end_id']}",
    ]
    return Doc("inter", "pix_receipt", lines, _truth_masked(f, payer, payee), small={14})


def picpay(rng: random.Random) -> Doc:
    """``Quantia paga``, ``Realizado em`` with ``5 de dez. de 2026``, ``De``/``Para``."""
    f = _facts(rng)
    w = _when(f)
    payer = _mask(f["payer_tax_id"], "*")
    payee = _payee_tax(f, plain=True)
    lines = [
        "PicPay",
        "Comprovante de Pix",
        "",
        "Quantia paga",
        f"R${money(int(f['cents'])).replace('.', '')}",
        "Realizado em",
        f"{w.day} de {MONTHS[w.month - 1]}. de {w.year} às {w:%H:%M}",
        "",
        "Para",
        f["payee_name"],
        f"{'CNPJ' if len(f['payee_tax_id']) == 14 else 'CPF'} {payee}",
        f["payee_institution"],
        "",
        "De",
        f["payer_name"],
        f"CPF {payer}",
        "PicPay Instituição de Pagamento S.A.",
        "",
        "Identificador da transação",
        f["end_to_end_id"],
    ]
    return Doc("picpay", "pix_receipt", lines, _truth_masked(f, payer, payee), small={19})


def mercado_pago(rng: random.Random) -> Doc:
    """A spelled date with the weekday, ``Total``, the payer first, ``Código de identificação``."""
    f = _facts(rng)
    w = _when(f)
    payer = _mask(f["payer_tax_id"], "*")
    payee = _payee_tax(f)
    lines = [
        "mercado pago",
        "Comprovante de transferência",
        f"{WEEKDAYS[w.weekday()]}, {w.day} de {FULL_MONTHS[w.month - 1]} de {w.year},"
        f" às {w:%H:%M} h",
        "",
        f"Total\tR$ {money(int(f['cents']))}",
        "Pix",
        "",
        "De",
        f["payer_name"],
        f"CPF: {payer}",
        "Mercado Pago",
        "",
        "Para",
        f["payee_name"],
        f"{'CNPJ' if len(f['payee_tax_id']) == 14 else 'CPF'}: {payee}",
        f"Banco: {f['payee_institution']}",
        "",
        "Código de identificação",
        f["end_to_end_id"],
        f"Número da transação: {rng.randrange(10**11)}",
    ]
    return Doc("mercadopago", "pix_receipt", lines, _truth_masked(f, payer, payee), small={18})


def c6(rng: random.Random) -> Doc:
    """Labels above values, ``1.234,56 BRL``, ``Documento`` for the tax id."""
    f = _facts(rng)
    w = _when(f)
    payee = _payee_tax(f, "X")
    lines = [
        "C6 BANK",
        "Comprovante",
        "Transferência Pix",
        "",
        "Valor pago",
        f"{money(int(f['cents']))} BRL",
        "Data do pagamento",
        f"{w:%d/%m/%Y} às {w:%Hh%M}",
        "",
        "Favorecido",
        f"Nome: {f['payee_name']}",
        f"Documento: {payee}",
        f"Banco: {f['payee_institution']}",
        "",
        "Pagador",
        f"Nome: {f['payer_name']}",
        f"Documento: {fmt_cpf(f['payer_tax_id'])}",
        "",
        "Identificador da transação",
        f["end_to_end_id"],
        f"Código de autenticação: {rng.randrange(16**20):020x}",
    ]
    truth = _truth_masked(f, f["payer_tax_id"], payee)
    return Doc("c6", "pix_receipt", lines, truth, small={19, 20})


def santander(rng: random.Random) -> Doc:
    """Two columns with ``Para``/``De`` as name labels, an unformatted CNPJ, ``ID/E2E``."""
    f = _facts(rng)
    w = _when(f)
    payer = _mask(f["payer_tax_id"], "*")
    payee = _payee_tax(f, plain=True)
    lines = [
        "Santander",
        "Comprovante do Pix",
        "",
        f"Valor pago\tR$ {money(int(f['cents']))}",
        f"Data e hora da transferência\t{w.day:02d} {MONTHS[w.month - 1]} {w.year} - {w:%H:%M}",
        "Forma de pagamento\tPix",
        "",
        "Dados do recebedor",
        f"Para\t{f['payee_name']}",
        f"{'CNPJ' if len(f['payee_tax_id']) == 14 else 'CPF'}\t{payee}",
        f"Instituição\t{f['payee_institution']}",
        "",
        "Dados do pagador",
        f"De\t{f['payer_name']}",
        f"CPF\t{payer}",
        "Instituição\tBanco Santander (Brasil) S.A.",
        "",
        f"ID/E2E\t{f['end_to_end_id']}",
    ]
    return Doc("santander", "pix_receipt", lines, _truth_masked(f, payer, payee), small={17})


def nubank_app(rng: random.Random) -> Doc:
    """A bullet between date and time, ``Informações do ...`` sections, bank codes
    before institution names, an ISO-like id label (``E2E ID``)."""
    f = _facts(rng)
    w = _when(f)
    payer, payee = _mask(f["payer_tax_id"], "•"), _payee_tax(f, "•")
    code = rng.choice(["0260", "341", "001", "104", "077"])
    lines = [
        "Pix enviado",
        f"{w.day:02d} {MONTHS[w.month - 1].upper()} {w.year} • {w:%H:%M}",
        "",
        "Valor enviado",
        f"R$ {money(int(f['cents']))}",
        "",
        "Informações do destinatário",
        f"Nome: {f['payee_name']}",
        f"CPF/CNPJ: {payee}",
        f"Instituição: {code} - {f['payee_institution']}",
        "",
        "Informações do pagador",
        f"Nome: {f['payer_name']}",
        f"CPF: {payer}",
        "Instituição: 0260 - Nu Pagamentos S.A.",
        "",
        f"E2E ID: {f['end_to_end_id']}",
    ]
    return Doc("nubank_app", "pix_receipt", lines, _truth_masked(f, payer, payee), small={16})


BANK_LAYOUTS: list[Callable[[random.Random], Doc]] = [
    itau_app,
    bradesco,
    banco_do_brasil,
    caixa,
    inter,
    picpay,
    mercado_pago,
    c6,
    santander,
    nubank_app,
]
