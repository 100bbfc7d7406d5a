"""Layouts as banks and DANFE printers lay them out, written apart from the
generated corpus: a DANFE's tax grid, where the products' total sits beside
the note's; an app's whole amount without cents; a flat label whose bare
``Nome`` must not read the party's words as a name."""

from __future__ import annotations

import random
from datetime import datetime

from fields_corpus import fmt_cnpj, nfe_key

from folio_worker_docs.extraction import extract

ISSUER = "11222333000181"
RECIPIENT = "11444777000161"


def _grid_danfe() -> tuple[str, str]:
    key = nfe_key(random.Random(5), ISSUER, datetime(2026, 11, 20), 1, 4521)
    spaced = " ".join(key[i : i + 4] for i in range(0, 44, 4))
    page = f"""COMERCIAL ALFA LTDA                 DANFE                        CHAVE DE ACESSO
RUA DAS FLORES, 100                 DOCUMENTO AUXILIAR DA        {spaced}
CENTRO - SÃO PAULO - SP             NOTA FISCAL ELETRÔNICA
                                    Nº 000.004.521  SÉRIE 001
NATUREZA DA OPERAÇÃO
VENDA DE MERCADORIA
INSCRIÇÃO ESTADUAL      CNPJ
123456789012            {fmt_cnpj(ISSUER)}
DESTINATÁRIO / REMETENTE
NOME / RAZÃO SOCIAL                             CNPJ / CPF              DATA DA EMISSÃO
BETA INDUSTRIA S/A                              {fmt_cnpj(RECIPIENT)}      20/11/2026
CÁLCULO DO IMPOSTO
BASE DE CÁLCULO DO ICMS   VALOR DO ICMS   VALOR DO ICMS ST   VALOR TOTAL DOS PRODUTOS
1.000,00                  180,00          0,00               1.000,00
VALOR DO FRETE   VALOR DO SEGURO   DESCONTO   VALOR DO IPI   VALOR TOTAL DA NOTA
50,00            0,00              0,00       0,00           1.050,00
DADOS DOS PRODUTOS / SERVIÇOS
CÓDIGO   DESCRIÇÃO          QUANT   VALOR UNIT   VALOR TOTAL   VALOR ICMS
001      PARAFUSO           100     10,00        1.000,00      180,00
Valor aproximado dos tributos: R$ 320,00
"""
    return page, key


def test_a_danfe_s_total_is_the_note_s_not_the_products_beside_it() -> None:
    page, key = _grid_danfe()
    found = extract([page])
    assert found.document_type == "nfe"
    assert found.fields["access_key"].value == key
    total = found.fields["total_amount"]
    assert total.value == "1050.00"
    # the products' total stays an alternative, below the note's
    assert [a.value for a in total.alternatives][:1] == ["1000.00"]
    assert total.alternatives[0].confidence < total.confidence


def test_a_products_table_s_total_column_does_not_beat_the_note_s_total_below_it() -> None:
    key = nfe_key(random.Random(6), ISSUER, datetime(2026, 11, 20), 1, 77)
    page = f"""DANFE
CHAVE DE ACESSO {key}
CÓDIGO   DESCRIÇÃO   QUANT   VALOR TOTAL
001      CABO USB    2       39,80
V. TOTAL DA NOTA
R$ 59,70
"""
    assert extract([page]).fields["total_amount"].value == "59.70"


APP = """mercado pago
Comprovante de Pix
Sexta-feira, 4 de dezembro de 2026, 20:11:47
R$ 1.000
De
Lucas Gabriel Martins
CPF: ***.444.555-**
Para
Juliana Ferreira
CPF: ***.777.888-**
Número de identificação da transação
E10573521202612042011x7Y8z9W0v1u
"""


def test_an_app_s_whole_amount_without_cents_is_the_amount() -> None:
    found = extract([APP])
    assert found.document_type == "pix_receipt"
    assert found.fields["amount"].value == "1000.00"
    assert found.fields["payee_name"].value == "Juliana Ferreira"


FLAT = """Bradesco
Comprovante de Transação Pix
Data e Hora: 21/09/2026 - 16:48:12
Valor: R$ 10.500,00
Dados do Favorecido
Nome do Favorecido: IMOBILIARIA CASA NOVA LTDA
CNPJ: 11.444.777/0001-61
Instituição do favorecido: 341 - ITAU UNIBANCO S.A.
Dados do Pagador
Nome: MARCOS VINICIUS PEREIRA
CPF: ***.222.333-**
ID: E60746948202609211648AbCdEfGh123
"""


def test_a_flat_label_s_party_words_are_no_name_nor_alternative() -> None:
    fields = extract([FLAT]).fields
    payee = fields["payee_name"]
    assert payee.value == "IMOBILIARIA CASA NOVA LTDA"
    assert not payee.alternatives
    bank = fields["payee_institution"]
    assert bank.value == "ITAU UNIBANCO S.A."
    assert not bank.alternatives
    assert fields["payer_name"].value == "MARCOS VINICIUS PEREIRA"
