"""Parties on a payment document: who paid and who received.

Receipts print each party in a section (``De``/``Para``, ``Pagador``/
``Recebedor``, ``Origem``/``Destino``, ``Quem pagou``/``Quem recebeu``) holding
a name, a tax id and an institution, or flat, with the party in the label
(``Nome do recebedor``, ``CPF do pagador``). :class:`PartyRules` finds both.
Apps set to English print the same sections (``From``/``To``,
``Sender``/``Recipient``, ``Name``, ``Tax ID``, ``Institution``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from folio_worker_docs.extraction import candidates
from folio_worker_docs.extraction.labels import (
    SPECKS,
    Hit,
    Page,
    labels,
    name_after,
    name_on_line,
    values_after,
)
from folio_worker_docs.extraction.types import Candidate

NAME_LABEL = labels(
    "nome",
    "razao social",
    "nome/razao social",
    "nome / razao social",
    "nome completo",
    "titular",
    "name",
    "full name",
)
TAX_LABEL = labels(
    "cpf/cnpj",
    "cnpj/cpf",
    "cpf / cnpj",
    "cnpj / cpf",
    "cpf",
    "cnpj",
    "documento",
    "cpf ou cnpj",
    "tax id",
    "taxpayer id",
)
INSTITUTION_LABEL = labels(
    "instituicao",
    "instituicao financeira",
    "banco",
    "inst. financeira",
    "instituicao de pagamento",
    "psp",
    "institution",
    "financial institution",
    "bank",
)

#: Any wording that is a label, not a value (a name is never one of these
#: alone), also a section header (``Dados do pagador``, ``Quem recebeu``):
#: :data:`STOP` when alone, a labelled line when it starts one.
LABEL_WORDS = (
    r"(?:(?:dados|informacoes|detalhes|conta) d[oae] )?(?:quem )?"
    r"(?:cpf|cnpj|cpf/cnpj|nome|instituicao|instituicao financeira|banco|agencia|conta|chave|"
    r"pagou|recebeu|tipo|valor|data|id|identificador|autenticacao|documento|razao social|"
    r"pagador|recebedor|favorecido|beneficiario|origem|destino|de|para|danfe|nf-e|emitente|destinatario|"
    r"name|tax id|institution|bank|amount|date|from|to|sender|recipient|payer|payee)"
)
STOP = re.compile(
    LABEL_WORDS
    + r"(?:\s*[:/]|[\s|.,;'\"\u201c\u201d]*$)"  # specks and a table rule may follow a label
)

#: :data:`~.labels.SPECKS` inside a character class (a header may follow them).
_SPECKS = re.escape(SPECKS)


#: A header that ends in a preposition (``De``, ``Para``, ``Pago para``).
_PREPOSITION = re.compile(r"(?<![a-z])(?:de|para)[ \t]*:?$")
#: A line ending in ``para``: a sentence whose payee is on the next line.
_ENDS_WITH_PARA = re.compile(r"(?m)(?<![a-z0-9])para[ \t]*$")


@dataclass(frozen=True)
class PartyRules:
    """How one party (payer or payee) is labelled.

    - ``headers``: section header wordings (matched at a line start).
    - ``suffixes``: the party words of flat labels (``do recebedor``).
    """

    headers: tuple[str, ...]
    suffixes: tuple[str, ...]

    def _header(self) -> re.Pattern[str]:
        words = "|".join(sorted(self.headers, key=len, reverse=True))
        return re.compile(
            r"(?m)^[ \t"
            + _SPECKS
            + r"]*(?:pix |(?:dados|informacoes|detalhes) d[oae] |conta d[eao] )?(?:quem )?(?:"
            + words
            + r")(?![a-z0-9])[ \t]*:?"
        )

    def _flat(self, field_words: str) -> re.Pattern[str]:
        party = "|".join(self.suffixes)
        return re.compile(
            r"(?<![a-z0-9])(?:"
            + field_words
            + r")\s+(?:d[oae]\s+)?(?:"
            + party
            + r")(?![a-z0-9])[ \t]*:?"
        )

    def starts_section(self, page: Page, offset: int) -> bool:
        """Whether the line starting at ``offset`` starts with this party's header."""
        return self._header().match(page.folded, offset) is not None

    def header_matches(self, page: Page, others: PartyRules) -> list[re.Match[str]]:
        """This party's section headers. A line right under a header that stands
        alone is that section's name, even when it starts with a header's word
        (``Recebedor`` over ``Destino Viagens Ltda``), unless that word is a
        preposition (``Dados do recebedor`` over ``Para   Maria Souza``: text
        layers join the label's column to the name's with one space) or the
        header stands alone too (``Origem`` over ``Destino``: an empty section,
        then the next; ``... para`` over ``Recebedor``)."""

        def alone(m: re.Match[str]) -> bool:
            return not page.folded[m.end() : page.line_bounds(m.start())[1]].strip(" \t" + SPECKS)

        lone = [
            m.end()
            for rules in (self, others)
            for m in rules._header().finditer(page.folded)
            if alone(m)
        ]
        # a sentence wrapped before its payee (``Você pagou R$ 50,00 para``)
        lone += [m.end() for m in _ENDS_WITH_PARA.finditer(page.folded)]
        return [
            m
            for m in self._header().finditer(page.folded)
            if alone(m)
            or _PREPOSITION.search(m.group())
            or not any(
                end < m.start() and not page.folded[end : m.start()].strip(" \t\n" + SPECKS)
                for end in lone
            )
        ]

    def sections(self, page: Page, others: PartyRules) -> list[tuple[int, int]]:
        """Offsets of this party's sections: each header up to the next header of either party."""
        mine = self.header_matches(page, others)
        bounds = sorted(
            {m.start() for m in mine} | {m.start() for m in others.header_matches(page, self)}
        )
        out = []
        for m in mine:
            later = [b for b in bounds if b > m.start()]
            out.append((m.start(), min(later[0] if later else len(page.folded), m.start() + 600)))
        return out

    def names(self, page: Page, others: PartyRules) -> list[Candidate]:
        """Name candidates: flat labels, ``Nome`` in a section, the header's own line or next."""
        flat = name_after(page, self._flat("nome|razao social|nome/razao social"), STOP)
        found = [candidates.name(h) for h in flat]
        for start, end in self.sections(page, others):
            in_section = [
                h for h in name_after(page, NAME_LABEL, STOP) if start <= h.label_start < end
            ]
            if in_section:
                # a flat label in the section already gave its name
                in_section = _unflat(in_section, flat)
            else:
                in_section = [
                    h for h in name_after(page, self._header(), STOP) if h.label_start == start
                ]
            found.extend(candidates.name(h) for h in in_section[:1])
        return found

    def holder(self, page: Page, others: PartyRules) -> list[Candidate]:
        """The account holder a bank prints at the top of its receipt (``Nome:``
        before any party's section), when this party has no section or flat
        name of its own and the other party has a section: at low confidence."""
        if self.sections(page, others) or not others.sections(page, self):
            return []
        first = min(start for start, _ in others.sections(page, self))
        return [
            replace(candidates.name(h), confidence=0.6)
            for h in name_after(page, NAME_LABEL, STOP)[:1]
            if h.label_start < first
        ]

    def tax_ids(self, page: Page, others: PartyRules) -> list[Candidate]:
        """Tax id candidates: flat labels, then the first tax id in each section."""
        found = [
            candidates.tax_id(h)
            for h in values_after(
                page, self._flat("cpf/cnpj|cnpj/cpf|cpf|cnpj|documento"), candidates.TAX_ID_PATTERN
            )
        ]
        for start, end in self.sections(page, others):
            m = candidates.TAX_ID_PATTERN.search(page.folded, start, end)
            if m is not None:
                hits = [
                    h
                    for h in values_after(page, TAX_LABEL, candidates.TAX_ID_PATTERN)
                    if h.start == m.start()
                ]
                conf = hits[0].confidence if hits else 0.8
                found.append(candidates.tax_id(_hit(page, m, conf)))
        return found

    def institutions(self, page: Page, others: PartyRules) -> list[Candidate]:
        """Institution candidates: flat labels, then ``Instituição``/``Banco`` in a section."""
        flat = name_after(page, self._flat("instituicao|banco|instituicao financeira"), STOP)
        found = [candidates.name(h) for h in flat]
        for start, end in self.sections(page, others):
            labelled = [
                candidates.name(_whole_bank_name(page, h))
                for h in _unflat(name_after(page, INSTITUTION_LABEL, STOP), flat)
                if start <= h.label_start < end
            ]
            found.extend(labelled or _after_tax_id(page, start, end))
        return found


def _unflat(hits: list[Hit], flat: list[Hit]) -> list[Hit]:
    """``hits`` of a bare label (``Nome``) that do not start a flat label's hit:
    after ``Nome do favorecido:`` the bare ``Nome`` would read the party's
    words, ``do favorecido``, as a name."""
    taken = {h.label_start for h in flat}
    return [h for h in hits if h.label_start not in taken]


#: Words that follow ``Banco`` in banks' own names (``Banco do Brasil``,
#: ``Banco Bradesco``): after ``Banco`` and one space they continue the name,
#: they do not follow a ``Banco`` label.
BANK_NAME_WORDS = re.compile(
    r"(?:do|da|de|dos|bradesco|santander|inter|safra|original|pan|btg|c6|daycoval|mercantil|"
    r"bmg|votorantim|sofisa|abc|bs2|modal|rendimento|cooperativo|sicredi|sicoob|nacional|"
    r"triangulo|banrisul|banestes|bnb|genial|agibank|xp)(?![a-z])"
)


def _whole_bank_name(page: Page, hit: Hit) -> Hit:
    """``hit`` with ``Banco`` put back when it starts the bank's name rather than
    labelling it (``Banco Bradesco S.A.``, not ``Banco: Bradesco``)."""
    head = page.folded[max(0, hit.start - 6) : hit.start]
    if head == "banco " and BANK_NAME_WORDS.match(page.folded, hit.start):
        return Hit(page, hit.start - 6, hit.end, hit.match, hit.confidence, hit.label_start)
    return hit


#: A line that starts with a field's label is not an unlabelled name.
_FIELD_START = re.compile(
    r"[ \t]*(?:agencia|conta|chave|tipo|data|valor|id|cpf|cnpj|nome|banco|instituicao|"
    r"documento|codigo|numero|telefone|e-?mail|name|tax id|institution|bank|account|amount|date)"
    r"(?![a-z])"
)


def _after_tax_id(page: Page, start: int, end: int) -> list[Candidate]:
    """A section printed without labels (a name, a tax id, an institution): the
    line right after the section's tax id, at lower confidence."""
    m = candidates.TAX_ID_PATTERN.search(page.folded, start, end)
    if m is None:
        return []
    for line_start, line_end in page.next_lines(m.start(), 1):
        if line_end <= end and not _FIELD_START.match(page.folded, line_start):
            hit = name_on_line(page, line_start, line_end, STOP, 0.6)
            return [candidates.name(hit)] if hit is not None else []
    return []


def _hit(page: Page, match: re.Match[str], confidence: float) -> Hit:
    return Hit(page, match.start(), match.end(), match, confidence, match.start())


PAYER = PartyRules(
    headers=(
        "de",
        "pagador",
        "origem",
        "pagou",
        "remetente",
        "dados do pagador",
        "enviado por",
        "conta debitada",
        "debitado de",
        "cliente",
        "quem paga",
        "quem vai pagar",
        "quem enviou",
        "from",
        "sender",
        "payer",
        "sent by",
        "paid by",
    ),
    suffixes=("pagador", "pagadora", "remetente", "origem", "depositante"),
)
PAYEE = PartyRules(
    headers=(
        "para",
        "recebedor",
        "destino",
        "recebeu",
        "favorecido",
        "destinatario",
        "beneficiario",
        "enviado para",
        "creditado para",
        "conta creditada",
        "pago para",
        "pagamento para",
        "transferido para",
        "transferencia para",
        "quem recebe",
        "quem vai receber",
        "to",
        "recipient",
        "payee",
        "sent to",
        "paid to",
    ),
    suffixes=("recebedor", "recebedora", "favorecido", "destinatario", "destino", "beneficiario"),
)
