"""The built-in boleto extractor (``boleto``).

Fields: ``digitable_line`` (47-digit bank or 48-digit arrecadação line, check
digits validated), ``amount``, ``due_date``, ``beneficiary_name``,
``beneficiary_tax_id``, ``payer_name``. A bank line also carries the amount:
when the printed amount is missing it comes from the line, when the two
disagree the line's is listed as an alternative.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

from folio_shared.identifiers import digitable_line_valid, repair_digitable_line
from folio_worker_docs.extraction import candidates
from folio_worker_docs.extraction.labels import Page, labels, name_after, values_after
from folio_worker_docs.extraction.parties import STOP, TAX_LABEL
from folio_worker_docs.extraction.types import Candidate, Field

#: A run of digit groups separated by dots and spaces, long enough for a line.
LINE_PATTERN = re.compile(r"(?<![\dA-Za-z])\d[\dOoIl .]{45,62}[\dOoIl](?![\dA-Za-z])")
AMOUNT_LABEL = labels(
    "valor do documento",
    "(=) valor cobrado",
    "valor cobrado",
    "valor a pagar",
    "valor",
    "total a pagar",
    "valor do boleto",
)
DUE_LABEL = labels("vencimento", "data de vencimento", "vence em", "pagavel ate")
#: Slips print the old and the new wording together (``Beneficiário /
#: Cedente``, ``Sacado/Pagador``): one label.
BENEFICIARY_LABEL = labels(
    "beneficiario",
    "cedente",
    "beneficiario final",
    "nome do beneficiario",
    r"beneficiario\s?/\s?cedente",
    r"cedente\s?/\s?beneficiario",
)
PAYER_LABEL = labels(
    "pagador", "sacado", "nome do pagador", r"pagador\s?/\s?sacado", r"sacado\s?/\s?pagador"
)
BOLETO_WORDS = labels(
    "boleto",
    "ficha de compensacao",
    "recibo do pagador",
    "linha digitavel",
    "nosso numero",
    "local de pagamento",
    "cedente",
    "beneficiario",
    "codigo de barras",
)


def digitable_lines(page: Page, agrees: Callable[[str], bool] | None = None) -> list[Candidate]:
    """47- or 48-digit lines (also over two lines), look-alikes read as digits,
    check digits verdict. A line with one misread digit that its check digits
    locate (among the lines that ``agrees`` with the printed amount and due
    date) is corrected, at lower confidence, the line as read kept as an
    alternative (:func:`~folio_shared.identifiers.repair_digitable_line`)."""

    def repair(line: str) -> str | None:
        return repair_digitable_line(line, agrees)

    return [
        *candidates.digit_ids(page, LINE_PATTERN, (47, 48), digitable_line_valid, repair),
        *candidates.wrapped_digit_ids(page, (47, 48), digitable_line_valid, repair),
    ]


#: Due-date factor epochs: days since 1997-10-07, restarted at 1000 on 2025-02-22.
FACTOR_EPOCHS = ((date(1997, 10, 7), 0), (date(2025, 2, 22), 1000))


def line_due_dates(line: str) -> set[str]:
    """The due dates (``YYYY-MM-DD``) a bank line's factor may stand for (empty
    for no factor or an arrecadação line)."""
    if len(line) != 47 or int(line[33:37]) == 0:
        return set()
    factor = int(line[33:37])
    return {(day + timedelta(days=factor - base)).isoformat() for day, base in FACTOR_EPOCHS}


def agreeing(amounts: set[str], dues: set[str]) -> Callable[[str], bool]:
    """Whether a line agrees with the amounts and due dates printed on its page
    (either kind, when none of it is printed, agrees)."""

    def agrees(line: str) -> bool:
        if len(line) != 47:
            return True
        amount_ok = not amounts or (line_amount(line) or "0.00") in amounts
        return amount_ok and (not dues or bool(line_due_dates(line) & dues))

    return agrees


def line_amount(line: str) -> str | None:
    """The amount a bank line carries (``None`` for a zero amount or an arrecadação line)."""
    if len(line) != 47 or int(line[37:]) == 0:
        return None
    return f"{int(line[37:]) / 100:.2f}"


def printed_terms(
    page: Page,
) -> tuple[list[Candidate | None], list[Candidate | None], Callable[[str], bool]]:
    """The page's amount and due-date candidates, and whether a line agrees with them."""
    amounts = [
        candidates.amount(h) for h in values_after(page, AMOUNT_LABEL, candidates.AMOUNT_PATTERN)
    ]
    dues = [candidates.day(h) for h in values_after(page, DUE_LABEL, candidates.DATE_PATTERN)]
    return amounts, dues, agreeing({c.value for c in amounts if c}, {c.value for c in dues if c})


def _party_of(page: Page, tax_id: Candidate, beneficiary: set[int]) -> Candidate:
    """``tax_id`` as the beneficiary's, or at half confidence when the party
    label nearest before it is the payer's (``Pagador ... CPF`` printed after
    the beneficiary's block, ``Beneficiário  CPF/CNPJ`` over a row of values
    and the payer's line under it)."""
    payer = {m.start() for m in PAYER_LABEL.finditer(page.folded)}
    before = [s for s in beneficiary | payer if s < tax_id.span[0]]
    if before and max(before) in payer - beneficiary:
        return replace(tax_id, confidence=tax_id.confidence * 0.5)
    return tax_id


class BoletoExtractor:
    """Fields of a boleto (bank slip) or an arrecadação slip."""

    document_type = "boleto"
    version = "14"

    def score(self, pages: list[str]) -> float:
        """A digitable line and the wordings a slip prints."""
        page = Page.of(1, "\n".join(pages))
        _, _, agrees = printed_terms(page)
        score = 0.6 if digitable_lines(page, agrees) else 0.0
        score += min(0.4, 0.15 * len({m.group() for m in BOLETO_WORDS.finditer(page.folded)}))
        score += 0.1 if DUE_LABEL.search(page.folded) else 0.0
        return min(score, 1.0)

    def extract(self, pages: list[str]) -> dict[str, Field]:
        """The slip's fields; a valid bank line's amount competes with the printed one."""
        found = candidates.gather(pages, self._page)
        fields = candidates.fields_of(found)
        line = fields.get("digitable_line")
        from_line = line_amount(line.value) if line is not None and line.valid else None
        if line is not None and from_line is not None:
            cand = Candidate(from_line, 0.8, line.page, line.span, True)
            others = [c for c in found.get("amount", []) if c is not None]
            best = max([*others, cand], key=lambda c: c.confidence)
            fields["amount"] = Field.from_candidates(
                best, [c for c in [*others, cand] if c is not best]
            )
        return fields

    def _page(self, page: Page) -> candidates.Found:
        amounts = [
            candidates.amount(h)
            for h in values_after(page, AMOUNT_LABEL, candidates.AMOUNT_PATTERN)
        ]
        dues = [candidates.day(h) for h in values_after(page, DUE_LABEL, candidates.DATE_PATTERN)]
        agrees = agreeing({c.value for c in amounts if c}, {c.value for c in dues if c})
        beneficiary = list(BENEFICIARY_LABEL.finditer(page.folded))
        tax_ids = [
            _party_of(page, candidates.tax_id(h), {b.start() for b in beneficiary})
            for h in values_after(page, TAX_LABEL, candidates.TAX_ID_PATTERN)
            if any(0 <= h.start - b.start() <= 250 for b in beneficiary)
            # a label that names the payer (``CPF do sacado:``) is the payer's tax id
            and PAYER_LABEL.search(page.folded, h.label_start, h.start) is None
        ]
        names = [candidates.name(h) for h in name_after(page, BENEFICIARY_LABEL, STOP)]
        return {
            "digitable_line": list(digitable_lines(page, agrees)),
            "amount": list(amounts),
            "due_date": list(dues),
            "beneficiary_name": list(names),
            "beneficiary_tax_id": [*tax_ids, *candidates.tax_ids_beside(names, page)],
            "payer_name": [candidates.name(h) for h in name_after(page, PAYER_LABEL, STOP)],
        }
