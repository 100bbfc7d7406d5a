"""The wordings a PIX receipt prints before its values, in Portuguese and in
English (apps set to English print ``Amount``, ``Paid on``, ``Transaction
ID``), and the side wordings whose values are not the payment's (a tariff or
fee, an issue or print date). Matched on folded text (:func:`~.labels.labels`).
"""

from __future__ import annotations

import re

from folio_worker_docs.extraction.labels import labels

AMOUNT_LABEL = labels(
    "valor pago",
    "valor da transferencia",
    "valor transferido",
    "valor do pix",
    "valor enviado",
    "valor total",
    "total pago",
    "quantia",
    "montante",
    "valor",
    "quantia paga",
    "valor da transacao",
    "total",
    "voce pagou",
    "voce enviou",
    "voce transferiu",
    "transferido",
    "tarifa",
    "taxa",
    # apps set to English
    "amount",
    "amount paid",
    "amount sent",
    "total paid",
    "you paid",
    "you sent",
    "fee",
)
#: Lines whose amount is not the amount paid (kept as low-confidence alternatives).
SIDE_AMOUNT = re.compile(
    r"tarifa|taxa|juros|multa|desconto|saldo|limite|cashback|troco"
    r"|(?<![a-z])(?:fee|balance|interest|discount)"
)
PAID_AT_LABEL = labels(
    "data e hora",
    "data/hora",
    "data do pagamento",
    "data da transferencia",
    "data da transacao",
    "realizado em",
    "realizada em",
    "pago em",
    "efetuado em",
    "efetuada em",
    "enviado em",
    "data",
    "horario",
    "quando",
    "feito em",
    "data do pix",
    "transferido em",
    "emitido em",
    "gerado em",
    "emissao",
    # apps set to English
    "paid on",
    "sent on",
    "made on",
    "completed on",
    "date and time",
    "date",
    "payment date",
    "transfer date",
    "issued on",
)
SIDE_DATE = re.compile(
    r"emitido|emissao|gerado|impresso|consulta|vencimento|agendad"
    r"|(?<![a-z])(?:issued|printed|generated|due|scheduled)"
)
E2E_LABEL = labels(
    "id da transacao",
    "identificador",
    "autenticacao",
    "id/transacao",
    "id fim a fim",
    "end to end",
    "end-to-end",
    "e2e",
    "id do pix",
    "codigo da transacao",
    "id transacao",
    "id",
    "transaction id",
    "end-to-end id",
)
#: Time labels printed apart from the date (``Horário: 14:32``).
TIME_LABEL = labels("hora", "horario", "hora da transferencia", "hora do pagamento")
