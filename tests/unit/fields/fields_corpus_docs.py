"""Boleto, DANFE and non-payment layouts of the generated corpus, and the whole corpus."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from fields_corpus import (
    COMPANIES,
    MONTHS,
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
from fields_corpus_pix import LAYOUTS


def boleto_bank(rng: random.Random) -> Doc:
    due = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 330))
    cents = rng.randint(1_000, 900_000)
    line = boleto_line(rng, cents, due)
    ben, ben_tax, payer = rng.choice(COMPANIES), cnpj(rng), person(rng)
    lines = [
        "Banco Exemplo | 341-7 | " + fmt_line(line),
        "",
        "Local de pagamento\tVencimento",
        "Pagável em qualquer banco até o vencimento\t" + due.strftime("%d/%m/%Y"),
        "Beneficiário\tAgência/Código do beneficiário",
        f"{ben}\t1234/56789-0",
        f"CNPJ: {fmt_cnpj(ben_tax)}",
        "Data do documento\tNº do documento\tNosso número",
        f"{(due - timedelta(days=20)):%d/%m/%Y}\t{rng.randint(1000, 99999)}\t109/00012345-6",
        "(=) Valor do documento",
        f"R$ {money(cents)}",
        "(-) Desconto / Abatimento",
        "",
        "(+) Mora / Multa",
        "",
        f"Pagador: {payer}",
        f"CPF: {fmt_cpf(cpf(rng))}",
        "Ficha de Compensação\tAutenticação mecânica",
    ]
    truth = {
        "digitable_line": line,
        "amount": f"{cents / 100:.2f}",
        "due_date": due.strftime("%Y-%m-%d"),
        "beneficiary_name": ben,
        "beneficiary_tax_id": ben_tax,
        "payer_name": payer,
    }
    return Doc("boleto_bank", "boleto", lines, truth)


def boleto_receipt(rng: random.Random) -> Doc:
    due = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 330))
    cents = rng.randint(1_000, 300_000)
    line = boleto_line(rng, cents, due)
    ben, ben_tax, payer = rng.choice(COMPANIES), cnpj(rng), person(rng)
    lines = [
        "RECIBO DO PAGADOR",
        f"Cedente: {ben}",
        f"CPF/CNPJ: {fmt_cnpj(ben_tax)}",
        f"Sacado: {payer}",
        f"Data de vencimento: {due.day} {MONTHS[due.month - 1]} {due.year}",
        f"Valor a pagar: R$ {money(cents)}",
        "",
        "Linha digitável:",
        fmt_line(line),
        "",
        "Pague pelo aplicativo do seu banco ou em qualquer lotérica.",
    ]
    truth = {
        "digitable_line": line,
        "amount": f"{cents / 100:.2f}",
        "due_date": due.strftime("%Y-%m-%d"),
        "beneficiary_name": ben,
        "beneficiary_tax_id": ben_tax,
        "payer_name": payer,
    }
    return Doc("boleto_receipt", "boleto", lines, truth)


def danfe(rng: random.Random, compact: bool) -> Doc:
    when = datetime(2026, 1, 2) + timedelta(days=rng.randint(0, 330))
    issuer, issuer_tax = rng.choice(COMPANIES), cnpj(rng)
    recipient = rng.choice([*COMPANIES, person(rng)])
    rec_tax = (
        cpf(rng)
        if " " in recipient and "Ltda" not in recipient and "S.A." not in recipient
        else cnpj(rng)
    )
    series, number = rng.randint(1, 9), rng.randint(1, 999_999)
    key = nfe_key(rng, issuer_tax, when, series, number)
    cents = rng.randint(5_000, 5_000_000)
    spaced = " ".join(key[i : i + 4] for i in range(0, 44, 4))
    num = f"{number:09d}"
    tax = fmt_cnpj(rec_tax) if len(rec_tax) == 14 else fmt_cpf(rec_tax)
    if compact:
        lines = [
            "DANFE - Documento Auxiliar da Nota Fiscal Eletrônica",
            f"Emitente: {issuer}",
            f"CNPJ: {fmt_cnpj(issuer_tax)}",
            f"NF-e nº {number}  Série {series}",
            f"Emissão: {when:%d/%m/%Y}",
            "Chave de acesso",
            spaced,
            "",
            "Destinatário",
            f"Nome: {recipient}",
            f"CPF/CNPJ: {tax}",
            "",
            f"Valor total da nota: R$ {money(cents)}",
            "Consulte em www.nfe.fazenda.gov.br",
        ]
    else:
        lines = [
            "IDENTIFICAÇÃO DO EMITENTE\tDANFE",
            issuer,
            "Rua das Flores, 100 - Centro",
            "São Paulo - SP\tDocumento Auxiliar da Nota Fiscal Eletrônica",
            f"Nº {num[:3]}.{num[3:6]}.{num[6:]}\tSÉRIE {series:03d}",
            "CHAVE DE ACESSO",
            spaced,
            "PROTOCOLO DE AUTORIZAÇÃO DE USO",
            f"135260000{rng.randint(100000, 999999)} {when:%d/%m/%Y} 10:21:33",
            "INSCRIÇÃO ESTADUAL\tCNPJ",
            f"110.042.490.114\t{fmt_cnpj(issuer_tax)}",
            "DESTINATÁRIO / REMETENTE",
            "NOME / RAZÃO SOCIAL\tCNPJ / CPF\tDATA DA EMISSÃO",
            f"{recipient}\t{tax}\t{when:%d/%m/%Y}",
            "CÁLCULO DO IMPOSTO",
            "BASE DE CÁLCULO DO ICMS\tVALOR DO ICMS\tVALOR TOTAL DA NOTA",
            f"{money(cents)}\t{money(cents * 18 // 100)}\t{money(cents)}",
        ]
    truth = {
        "access_key": key,
        "number": str(number),
        "series": str(series),
        "issued_at": when.strftime("%Y-%m-%d"),
        "issuer_name": issuer,
        "issuer_tax_id": issuer_tax,
        "recipient_name": recipient,
        "recipient_tax_id": rec_tax,
        "total_amount": f"{cents / 100:.2f}",
    }
    return Doc("danfe_compact" if compact else "danfe", "nfe", lines, truth)


OTHERS = [
    [
        "Ata da reunião de condomínio",
        "Data: 12/03/2026",
        "Presentes: síndico e 14 moradores.",
        "Foi aprovada a troca do portão. O valor de R$ 12.000,00 será dividido em três parcelas.",
        "Os boletos de condomínio continuam com vencimento no dia 10.",
    ],
    [
        "Notícia",
        "Pix bate recorde de transações em dezembro",
        "O Banco Central informou que o Pix",
        "superou 250 milhões de transações em um único dia. O valor médio ficou em R$ 180,00.",
    ],
    [
        "Receita de bolo de fubá",
        "Ingredientes: 3 ovos, 2 xícaras de fubá, 1 xícara de leite.",
        "Modo de preparo: bata tudo e asse por 40 minutos.",
    ],
    [
        "CONTRATO DE LOCAÇÃO",
        "Locador: Carlos Lima, CPF 529.982.247-25",
        "Locatário: Ana Souza",
        "Valor mensal: R$ 2.300,00, vencimento todo dia 5,",
        "pago por boleto ou Pix para a conta do locador.",
        "São Paulo, 5 de janeiro de 2026.",
    ],
    [
        "Orçamento nº 123",
        "Cliente: Padaria Pão Quente Ltda",
        "CNPJ: 11.222.333/0001-81",
        "Item\tQuantidade\tValor",
        "Forno elétrico\t1\tR$ 4.500,00",
        "Valor total: R$ 4.500,00",
        "Validade: 30 dias",
    ],
    ["Olá Juliana,", "Segue em anexo o relatório trimestral.", "Abraços,", "Rafael"],
    [
        "Manual do usuário",
        "1. Conecte o aparelho à tomada.",
        "2. Pressione o botão azul.",
        "Garantia de 12 meses a partir da data da compra.",
    ],
    [
        "Holerite - março de 2026",
        "Empresa: Construtora Alicerce S.A.",
        "Funcionário: Paulo Gomes",
        "Salário base\tR$ 3.200,00",
        "INSS\tR$ 281,62",
        "Líquido a receber\tR$ 2.918,38",
    ],
    [
        "Laudo médico",
        "Paciente: Beatriz Martins",
        "Data do exame: 02/02/2026",
        "Resultado dentro dos valores de referência.",
    ],
    [
        "Aviso de cobrança",
        "Sua fatura de internet vence em 15/04/2026.",
        "Evite juros: pague até o vencimento.",
        "Valor: R$ 119,90",
    ],
]


def build_corpus(seed: int = 27) -> list[Doc]:
    """68 documents: 42 PIX receipts (7 layouts), 8 boletos, 8 DANFEs, 10 non-payment."""
    rng = random.Random(seed)
    docs = [layout(rng) for _ in range(6) for layout in LAYOUTS]
    docs += [boleto_bank(rng) for _ in range(4)] + [boleto_receipt(rng) for _ in range(4)]
    docs += [danfe(rng, compact=False) for _ in range(4)] + [
        danfe(rng, compact=True) for _ in range(4)
    ]
    docs += [Doc(f"other{i}", "other", lines) for i, lines in enumerate(OTHERS)]
    return docs
