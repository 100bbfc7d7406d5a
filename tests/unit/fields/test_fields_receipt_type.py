"""The PIX receipt type from a receipt's own evidence, not from its id: a
receipt whose id is unreadable or withheld keeps its type and fields, and
documents that only mention Pix (letters, contracts, bills, quotes, notices)
stay ``other``. The pages are written here, in wordings the corpus
generator does not use."""

from __future__ import annotations

import pytest

from folio_worker_docs.extraction import extract

RECEIPTS = {
    "done, no receipt heading": """Transferência feita
Valor: R$ 80,00
Chave Pix: (11) 98765-4321
Recebedor: Padaria Pão Quente Ltda
Data: 05/12/2026 14:32""",
    "pix misread by OCR": """Comprovante de transferência
Plx
Valor R$ 1.234,56
05 dez 2026 às 14:32
Destino
Nome: Mercado Bom Preço S.A.
CNPJ: 38.503.827/0001-90
Instituição: Itaú Unibanco S.A.
Origem
Nome: Ana Lima Souza
Chave: ana@exemplo.com.br""",
    "effected, status line": """Transferência Pix
Situação: Efetivada
Valor R$ 45,90
Data da operação 05/12/2026 - 09:10
Favorecido
Oficina do Zé Ltda
CNPJ 12.345.678/0001-95
Banco Bradesco S.A.""",
    "app screen, you made": """Você fez um Pix
R$ 310,00
para Juliana Costa Ribeiro
CPF •••.456.789-••
Nu Pagamentos S.A.
5 de dezembro de 2026, 18:03""",
    "id line unreadable": """Comprovante Pix
Valor pago: R$ 1.500,00
Data do pagamento: 05/12/2026 às 10:15
Pagador: Rafael Gomes Lima
Recebedor: Construtora Alicerce S.A.
ID da transação: ░░░░░░░░░░░░░░░░""",
    "success, english amount": """Pix enviado com sucesso
Quantia
1.234,56 BRL
Quando 05/12/2026 08:00
Para Livraria Página Nova Ltda""",
}

NOT_RECEIPTS = {
    "letter": """Prezado cliente,
Informamos que a partir de 01/01/2027 a mensalidade de R$ 150,00 poderá ser paga
por Pix. A chave é o CNPJ da escola.
Data: 05/12/2026
Atenciosamente, Escola Aprender Mais""",
    "contract": """CLÁUSULA 3ª - DO PAGAMENTO
O CONTRATANTE pagará ao CONTRATADO o valor de R$ 2.000,00 por Pix, na chave
informada, até o dia 5 de cada mês. Data: 05/12/2026""",
    "invoice": """Nota de serviço nº 381
Cliente: João Silva Santos
Total: R$ 350,00
Formas de pagamento: boleto ou Pix (chave CNPJ 12.345.678/0001-95)
Data de emissão: 05/12/2026""",
    "quote": """Orçamento
Serviço: pintura da fachada
Valor: R$ 1.200,00
Pagamento: 50% via Pix na aprovação
Data: 05/12/2026
Cliente: Fernanda Oliveira""",
    "e-mail about a receipt": """Olá Ana,
segue o comprovante do Pix de R$ 150,00 que fiz hoje, 05/12/2026.
Abraços, Carlos""",
    "shop notice": """Aceitamos Pix!
Chave: loja@exemplo.com.br
Pagamentos acima de R$ 50,00 ganham 5% de desconto
Válido até 05/12/2026""",
}


@pytest.mark.parametrize("name", sorted(RECEIPTS))
def test_a_receipt_without_a_readable_id_is_a_pix_receipt(name: str) -> None:
    found = extract([RECEIPTS[name]])
    assert found.document_type == "pix_receipt", name
    assert "amount" in found.fields
    assert "end_to_end_id" not in found.fields


@pytest.mark.parametrize("name", sorted(NOT_RECEIPTS))
def test_a_document_that_mentions_pix_is_not_a_receipt(name: str) -> None:
    assert extract([NOT_RECEIPTS[name]]).document_type == "other", name
