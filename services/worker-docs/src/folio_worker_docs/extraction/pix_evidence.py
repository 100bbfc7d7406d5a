"""How much a page looks like a PIX receipt, from all it prints.

An end-to-end id is the strongest sign, but a photo may lose it and some
apps withhold it, so the type never rests on it alone. Each kind of evidence
adds to the score (:data:`WEIGHTS`): the word Pix (or an OCR look-alike:
``Plx``, ``P1x``), a Pix key's or an end-to-end id's label, transfer wording, the wording of a
payment made (``Comprovante``, ``Pix enviado``, ``Transferência feita``,
``Situação: efetivada``, ``Você fez um Pix``), an amount, a payment date,
the parties, an institution. A page that prints the ids of several
transfers (distinct institution and minute) in a statement's wording
(``Extrato``, ``Saldo``, ``Período``) lists payments: it is no receipt.
Without an id, a page is a receipt only when it
names Pix (or a Pix key, or an end-to-end id) and shows a payment made: in words (``Valor pago``,
``Quem recebeu``, ``Pix enviado``) or by a transfer's whole structure (payer,
payee, amount and date). Bills, statements, contracts, quotes and letters
that mention Pix are not receipts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The word Pix, as printed or as OCR misreads it (``Plx``, ``P1x``, ``P|x``).
PIX_WORD = re.compile(r"(?<![a-z0-9])pix(?![a-z0-9])")
PIX_LOOKALIKE = re.compile(r"(?<![a-z0-9])p[1l|!]x(?![a-z0-9])")
#: An end-to-end id's label, even when its value is unreadable: only Pix has them.
E2E_ID_LABEL = re.compile(r"(?<![a-z0-9])(?:e2e|id fim a fim|end[- ]to[- ]end)(?![a-z0-9])")
#: A Pix key's label (``Chave Pix``, ``Chave:``): only Pix transfers have keys.
KEY_LABEL = re.compile(r"(?<![a-z])chave(?:\s+(?:pix|aleatoria|do recebedor|de destino))?\s*:")
TRANSFER_WORDS = re.compile(r"(?<![a-z])(?:transferencia|transferiu|transferido|transferida)")
_DONE = r"(?:enviad|realizad|efetuad|recebid|concluid|feit|efetivad|aprovad|confirmad|finalizad)"
#: Wordings of a payment made: a receipt's heading (not "segue o comprovante"),
#: a transfer with a past participle, a status line, labels in the past tense
#: (``Valor pago``, ``Quem recebeu``, ``Enviado para``), "you paid/sent/made".
DONE_WORDS = re.compile(
    r"(?<![a-z])(?<!o )(?<!um )(?<!seu )(?<!do )(?<!no )(?<!ao )(?:comprovante|recibo)(?![a-z])"
    r"|(?<![a-z])autenticacao(?![a-z])"
    r"|(?<![a-z])(?:pix|transferencia|pagamento|transacao|operacao)\s+(?:foi\s+)?"
    + _DONE
    + r"|(?<![a-z])(?:situacao|status)\s*:?\s*(?:"
    + _DONE
    + r"|pag[oa](?![a-z]))"
    r"|(?<![a-z])enviad[oa]\s+com\s+sucesso"
    r"|(?<![a-z])(?:valor|quantia)\s+(?:pag|enviad|transferid)[oa](?![a-z])"
    r"|(?<![a-z])quem\s+(?:pagou|recebeu|enviou)"
    r"|(?<![a-z])(?:pag|enviad|transferid)[oa]\s+(?:em|para)(?![a-z])"
    r"|(?<![a-z])data\s+d[oa]\s+(?:pagamento|transferencia)(?![a-z])"
    r"|(?<![a-z])voce\s+(?:pagou|enviou|transferiu|fez\s+(?:um|uma)\s+(?:pix|transferencia))"
)
#: Wordings of bills, statements, contracts, quotes and letters: money asked
#: for, listed or written about, not paid.
NOT_RECEIPT_WORDS = re.compile(
    r"(?<![a-z])(?:vencimento|vence em|fatura|extrato|lancamentos?|clausula|contratante|"
    r"orcamento|pague\s+(?:com|ate|pelo|por)|em anexo|"
    r"prezad[oa]s?|atenciosamente|cordialmente|informamos)(?![a-z])"
)

#: Wordings of a list of transactions (a statement): with the ids of several
#: transfers, the page lists payments, it is no one payment's receipt.
LIST_WORDS = re.compile(
    r"(?<![a-z])(?:extrato|lancamentos?|movimentac(?:ao|oes)|saldo|periodo)(?![a-z])"
)

#: What each kind of evidence adds to the score (0-1; the classifier's bar is 0.5).
WEIGHTS = {
    "id": 0.35,
    "pix": 0.3,
    "pix_lookalike": 0.2,
    "key": 0.1,
    "transfer": 0.1,
    "done": 0.15,
    "amount": 0.1,
    "date": 0.1,
    "parties": 0.1,
    "institution": 0.05,
}
#: Highest score of a page without an id that lacks a payment made or Pix.
WITHOUT_ID_CEILING = 0.45
#: What bill, statement or contract wording takes off.
NOT_RECEIPT_PENALTY = 0.3


@dataclass(frozen=True)
class Layout:
    """What the extractor's own rules found on the page."""

    has_id: bool
    has_amount: bool
    has_date: bool
    has_parties: bool
    has_both_parties: bool
    has_institution: bool
    transfers: int = 1


def score(folded: str, layout: Layout) -> float:
    """0-1: how much the folded page text with ``layout`` looks like a PIX receipt."""
    pix = bool(PIX_WORD.search(folded))
    signs = {
        "id": layout.has_id,
        "pix": pix,
        "pix_lookalike": not pix and bool(PIX_LOOKALIKE.search(folded)),
        "key": bool(KEY_LABEL.search(folded) or E2E_ID_LABEL.search(folded)),
        "transfer": bool(TRANSFER_WORDS.search(folded)),
        "done": bool(DONE_WORDS.search(folded)),
        "amount": layout.has_amount,
        "date": layout.has_date,
        "parties": layout.has_parties,
        "institution": layout.has_institution,
    }
    total = sum(WEIGHTS[name] for name, present in signs.items() if present)
    if layout.transfers > 1 and LIST_WORDS.search(folded):
        # a statement listing several transfers by their ids: its fields
        # would be one line's, taken for the whole
        return min(total, WITHOUT_ID_CEILING) - NOT_RECEIPT_PENALTY
    if not layout.has_id:
        names_pix = signs["pix"] or signs["pix_lookalike"] or signs["key"]
        # a payment made: said in words, or shown by a transfer's whole
        # structure (who paid, who received, how much, when)
        made = signs["done"] or (layout.has_both_parties and layout.has_amount and layout.has_date)
        if not (made and names_pix):
            total = min(total, WITHOUT_ID_CEILING)
        if NOT_RECEIPT_WORDS.search(folded):
            total -= NOT_RECEIPT_PENALTY
    return max(0.0, min(total, 1.0))
