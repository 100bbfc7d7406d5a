"""PIX receipt layouts of the generated corpus (six banks/apps, different wordings)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from fields_corpus import (
    BANKS,
    COMPANIES,
    FULL_MONTHS,
    MONTHS,
    Doc,
    cnpj,
    cpf,
    e2e,
    fmt_cnpj,
    fmt_cpf,
    masked,
    money,
    person,
)


def _facts(rng: random.Random) -> dict[str, str]:
    when = datetime(2026, 1, 1, 8) + timedelta(minutes=rng.randint(0, 340 * 24 * 60))
    cents = rng.choice([rng.randint(100, 99_999), rng.randint(100_000, 2_500_000)])
    payer_cpf = cpf(rng)
    company = rng.random() < 0.5
    payee_tax = cnpj(rng) if company else cpf(rng)
    return {
        "amount": f"{cents / 100:.2f}",
        "cents": str(cents),
        "paid_at": when.strftime("%Y-%m-%dT%H:%M"),
        "end_to_end_id": e2e(rng, when),
        "payer_name": person(rng),
        "payer_tax_id": payer_cpf,
        "payee_name": rng.choice(COMPANIES) if company else person(rng),
        "payee_tax_id": payee_tax,
        "payee_institution": rng.choice(BANKS),
        "payer_bank": rng.choice(BANKS),
    }


def _when(f: dict[str, str]) -> datetime:
    return datetime.strptime(f["paid_at"], "%Y-%m-%dT%H:%M")


def _truth(f: dict[str, str], **over: str) -> dict[str, str]:
    keys = (
        "amount",
        "paid_at",
        "end_to_end_id",
        "payer_name",
        "payer_tax_id",
        "payee_name",
        "payee_tax_id",
        "payee_institution",
    )
    out = {k: f[k] for k in keys}
    out.update(over)
    return {k: v for k, v in out.items() if v}


def _tax(d: str) -> str:
    return fmt_cnpj(d) if len(d) == 14 else fmt_cpf(d)


def nubank_like(rng: random.Random) -> Doc:
    f = _facts(rng)
    w = _when(f)
    payee_tax = (
        masked(f["payee_tax_id"]) if len(f["payee_tax_id"]) == 11 else fmt_cnpj(f["payee_tax_id"])
    )
    lines = [
        "Comprovante de transferência",
        f"{w.day:02d} {MONTHS[w.month - 1].upper()} {w.year} - {w:%H:%M:%S}",
        "",
        "Valor",
        f"R$ {money(int(f['cents']))}",
        "Tipo de transferência",
        "Pix",
        "",
        "Destino",
        f"Nome\t{f['payee_name']}",
        f"CPF/CNPJ\t{payee_tax}",
        f"Instituição\t{f['payee_institution']}",
        "Agência\t0001",
        "Conta\t1234567-8",
        "",
        "Origem",
        f"Nome\t{f['payer_name']}",
        f"Instituição\t{f['payer_bank']}",
        f"CPF\t{masked(f['payer_tax_id'])}",
        "",
        "ID da transação:",
        f["end_to_end_id"],
        "",
        "Ouvidoria: 0800 887 0463",
    ]
    return Doc(
        "nubank",
        "pix_receipt",
        lines,
        _truth(
            f,
            payee_tax_id=payee_tax if "*" in payee_tax else f["payee_tax_id"],
            payer_tax_id=masked(f["payer_tax_id"]),
        ),
        small={22},
    )


def itau_like(rng: random.Random) -> Doc:
    f = _facts(rng)
    w = _when(f)
    tariff = rng.choice(["0,00", "1,50"])
    lines = [
        "Pix enviado",
        "comprovante de pagamento",
        "",
        f"valor: R$ {money(int(f['cents']))}",
        f"tarifa: R$ {tariff}",
        f"data e hora: {w:%d/%m/%Y} - {w:%H:%M}",
        "",
        "para",
        f"nome: {f['payee_name']}",
        f"CPF/CNPJ: {_tax(f['payee_tax_id'])}",
        f"instituição: {f['payee_institution']}",
        "",
        "de",
        f"nome: {f['payer_name']}",
        f"CPF: {fmt_cpf(f['payer_tax_id'])}",
        f"instituição: {f['payer_bank']}",
        "",
        "autenticação",
        f["end_to_end_id"],
    ]
    return Doc("itau", "pix_receipt", lines, _truth(f), small={18})


def flat_labels(rng: random.Random) -> Doc:
    f = _facts(rng)
    w = _when(f)
    emitted = w + timedelta(days=rng.randint(1, 9), minutes=17)
    lines = [
        "COMPROVANTE PIX",
        f"Emitido em {emitted:%d/%m/%Y %H:%M}",
        "",
        f"Nome do recebedor: {f['payee_name']}",
        f"CPF/CNPJ do recebedor: {_tax(f['payee_tax_id'])}",
        f"Instituição do recebedor: {f['payee_institution']}",
        f"Nome do pagador: {f['payer_name']}",
        f"CPF do pagador: {fmt_cpf(f['payer_tax_id'])}",
        "",
        f"Valor pago: R$ {money(int(f['cents']))}",
        "Tarifa: R$ 0,00",
        f"Data do pagamento: {w:%d/%m/%Y} {w:%H:%M}",
        f"Identificador: {f['end_to_end_id']}",
    ]
    return Doc("flat", "pix_receipt", lines, _truth(f), small={12})


def columns(rng: random.Random) -> Doc:
    f = _facts(rng)
    w = _when(f)
    lines = [
        "Banco Digital",
        "Transferência Pix realizada",
        "",
        "Quantia\tData e hora",
        f"R$ {money(int(f['cents']))}\t{w:%d/%m/%Y} {w:%H:%M}",
        "",
        "Quem recebeu",
        f"{f['payee_name']}",
        f"CNPJ/CPF {_tax(f['payee_tax_id'])}",
        f"Banco {f['payee_institution']}",
        "",
        "Quem pagou",
        f"{f['payer_name']}",
        f"CPF {fmt_cpf(f['payer_tax_id'])}",
        "",
        "ID/Transação",
        f["end_to_end_id"],
    ]
    return Doc("columns", "pix_receipt", lines, _truth(f), small={16})


def spelled(rng: random.Random) -> Doc:
    f = _facts(rng)
    w = _when(f)
    lines = [
        "Pix realizado",
        f"Quando: {w.day} de {FULL_MONTHS[w.month - 1]} de {w.year}, {w:%H}h{w:%M}",
        f"Valor: R$ {money(int(f['cents']))}",
        "",
        "Quem recebeu:",
        f"Nome: {f['payee_name']}",
        f"CPF/CNPJ: {_tax(f['payee_tax_id'])}",
        f"Instituição financeira: {f['payee_institution']}",
        "",
        "Quem pagou:",
        f"Nome: {f['payer_name']}",
        f"CPF: {fmt_cpf(f['payer_tax_id'])}",
        "",
        f"ID fim a fim: {f['end_to_end_id']}",
        "",
        f"Saldo disponível: R$ {money(rng.randint(1000, 900000))}",
    ]
    return Doc("spelled", "pix_receipt", lines, _truth(f), small={13})


def wallet_app(rng: random.Random) -> Doc:
    f = _facts(rng)
    w = _when(f)
    e = f["end_to_end_id"]
    lines = [
        "Comprovante de pagamento",
        "Você pagou",
        f"R$ {money(int(f['cents']))}",
        f"{w.day} {MONTHS[w.month - 1]} {w.year} às {w:%H:%M}",
        "",
        "Pix enviado para",
        f["payee_name"],
        f"CPF/CNPJ {_tax(f['payee_tax_id'])}",
        f"Banco: {f['payee_institution']}",
        "",
        "Enviado por",
        f["payer_name"],
        f"CPF {masked(f['payer_tax_id'])}",
        "",
        "Código da transação",
        e[:20],
        e[20:],
    ]
    return Doc(
        "wallet",
        "pix_receipt",
        lines,
        _truth(f, payer_tax_id=masked(f["payer_tax_id"])),
        small={15, 16},
    )


def bank_table(rng: random.Random) -> Doc:
    """A bank's receipt as a ruled table under a logo, with its own wordings and
    a bank authentication code beside the end-to-end id."""
    f = _facts(rng)
    w = _when(f)
    lines = [
        rng.choice(["BANCO SEGURO", "COOPERATIVA CENTRAL", "BANCO PRIMAVERA"]),
        "Comprovante de Pix",
        "",
        "Dados da transação",
        f"Valor da transação\tR$ {money(int(f['cents']))}",
        f"Data/Hora\t{w:%d/%m/%Y}, {w:%H}h{w:%M}",
        "Tipo\tPix por chave aleatória",
        "",
        "Dados do recebedor",
        f"Nome/Razão social\t{f['payee_name']}",
        f"CPF/CNPJ\t{_tax(f['payee_tax_id'])}",
        f"Banco\t{f['payee_institution']}",
        "",
        "Dados do pagador",
        f"Nome\t{f['payer_name']}",
        f"CPF\t{masked(f['payer_tax_id'])}",
        f"Banco\t{f['payer_bank']}",
        "",
        f"ID/E2E\t{f['end_to_end_id']}",
        f"Autenticação bancária: {rng.randrange(16**12):012X}",
    ]
    return Doc(
        "table",
        "pix_receipt",
        lines,
        _truth(f, payer_tax_id=masked(f["payer_tax_id"])),
        small={18},
        ruled={4, 5, 6, 9, 10, 11, 14, 15, 16, 18},
        logo=True,
    )


LAYOUTS: list[Callable[[random.Random], Doc]] = [
    nubank_like,
    itau_like,
    flat_labels,
    columns,
    spelled,
    wallet_app,
    bank_table,
]
