"""The built-in NF-e extractor (``nfe``), from a DANFE's text.

Fields: ``access_key`` (44 digits, modulo-11 check digit), ``number``,
``series``, ``issued_at``, ``issuer_name``, ``issuer_tax_id``,
``recipient_name``, ``recipient_tax_id``, ``total_amount``. A valid access
key carries the issuer's CNPJ, the series and the number: they are used when
the printed ones are missing and listed as alternatives when they differ.
"""

from __future__ import annotations

import re
from dataclasses import replace

from folio_shared.identifiers import nfe_key_valid
from folio_worker_docs.extraction import candidates
from folio_worker_docs.extraction.labels import (
    Hit,
    Page,
    labels,
    name_after,
    name_on_line,
    values_after,
)
from folio_worker_docs.extraction.parties import STOP, TAX_LABEL
from folio_worker_docs.extraction.types import Candidate, Field

#: 44 digits in groups split by spaces, dots or hyphens (``3526-0511-...``).
KEY_PATTERN = re.compile(r"(?<![\dA-Za-z])\d[\dOoIl .-]{42,56}[\dOoIl](?![\dA-Za-z])")
NUMBER_PATTERN = re.compile(r"\d{1,3}(?:\.\d{3}){1,3}(?![\d.])|\d{1,9}(?!\d)")
NFE_WORDS = labels(
    "danfe",
    "nota fiscal eletronica",
    "chave de acesso",
    "nf-e",
    "documento auxiliar da nota fiscal",
    "protocolo de autorizacao",
)
NUMBER_LABEL = labels("n[o°º.]*", "numero", "nf-e n[o°º.]*", "no.")
SERIES_LABEL = labels("serie", "ser.")
ISSUED_LABEL = labels("data de emissao", "data da emissao", "emissao", "dt. emissao", "emitida em")
ISSUER_LABEL = labels("emitente", "identificacao do emitente", "razao social do emitente")
#: The recipient's block; a simplified DANFE calls the recipient ``Cliente``
#: or ``Consumidor``.
RECIPIENT_LABEL = labels(
    "destinatario",
    "destinatario/remetente",
    "destinatario / remetente",
    "cliente",
    "consumidor",
)
NAME_LABEL = labels("nome/razao social", "nome / razao social", "razao social", "nome")
#: The receipt stub of a DANFE, which names the issuer.
STUB = re.compile(r"recebemos de\s+(\S.{2,80}?)\s+(?:os|as)\s+(?:produtos|mercadorias|servicos)")
TOTAL_LABEL = labels(
    "valor total da nota", "v. total da nota", "valor total da nf-e", "total da nota", "valor total"
)


def access_keys(page: Page) -> list[Candidate]:
    """44-digit keys (also over two lines), look-alikes read as digits, check-digit verdict."""
    return [
        *candidates.digit_ids(page, KEY_PATTERN, (44,), nfe_key_valid),
        *candidates.wrapped_digit_ids(page, (44,), nfe_key_valid),
    ]


def _in_block(
    page: Page, block: re.Pattern[str], other: re.Pattern[str], hits: list[Candidate]
) -> list[Candidate]:
    """The hits whose nearest block header before them (within 400 characters)
    is ``block``'s, not ``other``'s."""
    mine = {m.start() for m in block.finditer(page.folded)}
    headers = mine | {m.start() for m in other.finditer(page.folded)}
    out = []
    for c in hits:
        before = [s for s in headers if 0 <= c.span[0] - s <= 400]
        if before and max(before) in mine:
            out.append(c)
    return out


def _stub_issuer(page: Page) -> list[Candidate]:
    """The issuer named in the receipt stub (``RECEBEMOS DE <issuer> OS PRODUTOS ...``)."""
    return [
        candidates.name(Hit(page, m.start(1), m.end(1), m, 0.9, m.start()))
        for m in STUB.finditer(page.folded)
    ]


#: ``Total`` alone (a short DANFE's last line, ``TOTAL R$ 150,00``): also the
#: products' total, so it counts only when no note total is printed.
TOTAL_BARE = labels("total")


#: What follows ``valor total`` when it is a part's total, not the note's
#: (``VALOR TOTAL DOS PRODUTOS``, ``... DO ICMS``, ``... APROXIMADO DOS
#: TRIBUTOS``): kept as a low alternative.
PART_TOTAL = re.compile(
    r"\s*(?:aprox\w*\.?\s+)?(?:d[oae]s?\s+)?(?:produtos|servicos|prod\.|serv\.|icms|ipi|"
    r"tributos|impostos|frete|seguro|descontos?|itens?|iss|pis|cofins)(?![a-z])"
)


def _note_totals(page: Page) -> list[Candidate | None]:
    """Totals after a total's label. Only ``... da nota`` (or ``da NF-e``)
    names the note's own total: a bare ``Valor total`` is also a products
    table's column or the products' total, so it keeps less, and a part's
    total (:data:`PART_TOTAL`) much less."""
    out: list[Candidate | None] = []
    for h in values_after(page, TOTAL_LABEL, candidates.AMOUNT_PATTERN):
        label = TOTAL_LABEL.match(page.folded, h.label_start)
        if label is not None and label.group() == "valor total":
            part = PART_TOTAL.match(page.folded, label.end())
            h = replace(h, confidence=0.3 if part else h.confidence * 0.9)
        out.append(candidates.amount(h))
    return out


def _bare_totals(page: Page) -> list[Candidate | None]:
    return [
        candidates.amount(replace(h, confidence=0.5))
        for h in values_after(page, TOTAL_BARE, candidates.AMOUNT_PATTERN, lines_below=0)
    ]


#: A line that is an address, not a name (``Av. Paulista, 1000``, ``CEP ...``,
#: a town and its state: ``Bela Vista - São Paulo - SP``).
ADDRESS = re.compile(
    r"\s*(?:rua|r\.|av|av\.|avenida|rodovia|rod\.|estrada|travessa|alameda|praca|largo|"
    r"quadra|setor)(?![a-z])|.*\bcep\b|.*[-/,][ \t]*(?:ac|al|ap|am|ba|ce|df|es|go|ma|mt|ms|mg|"
    r"pa|pb|pr|pe|pi|rj|rn|rs|ro|rr|sc|sp|se|to)[ \t]*$"
)
#: A line that starts with a field's label, not a name: a word and a colon
#: (``Fone: (11) ...``, ``IE: ...``) or a DANFE header's label
#: (``INSCRIÇÃO ESTADUAL   CNPJ``).
_FIELD_LINE = re.compile(
    r"\s*(?:[a-z][a-z./-]*[ \t]*:|(?:inscricao|insc\.|ie|fone|fax|tel|telefone|e-?mail|"
    r"endereco|bairro|municipio)(?![a-z]))"
)
#: Where a DANFE's own wording starts after the issuer's name on its line.
_DANFE_CELL = re.compile(r"\s+(?=(?:danfe|nf-e|nfe|documento auxiliar|nota fiscal)(?![a-z]))")


def _issuer_over_cnpj(page: Page, keys: list[Candidate]) -> list[Candidate]:
    """The issuer's name printed without a label above its CNPJ, as a DANFE's
    header prints it: the nearest of the two lines above the CNPJ that a valid
    access key carries which reads as a name (no address, no DANFE wording,
    no field's label), at low confidence."""
    found: list[Candidate] = []
    for cnpj in {k.value[6:20] for k in keys if k.valid}:
        for m in candidates.TAX_ID_PATTERN.finditer(page.folded):
            if re.sub(r"\D", "", m.group()) != cnpj:
                continue
            line_start, _ = page.line_bounds(m.start())
            for start, end in _lines_above(page, line_start, 2):
                if any(p.match(page.folded, start, end) for p in (ADDRESS, NFE_WORDS, _FIELD_LINE)):
                    continue
                cell = _DANFE_CELL.search(page.folded, start, end)
                hit = name_on_line(page, start, cell.start() if cell else end, STOP, 0.6)
                if hit is not None:
                    found.append(candidates.name(hit))
                    break
    return found


def _lines_above(page: Page, offset: int, count: int) -> list[tuple[int, int]]:
    """Bounds of up to ``count`` non-blank lines above the line starting at ``offset``."""
    out: list[tuple[int, int]] = []
    end = offset - 1
    while end > 0 and len(out) < count:
        start, end = page.line_bounds(end)
        if page.folded[start:end].strip():
            out.append((start, end))
        end = start - 1
    return out


class NfeExtractor:
    """Fields of an NF-e from its DANFE (the printed auxiliary document)."""

    document_type = "nfe"
    version = "15"

    def score(self, pages: list[str]) -> float:
        """An access key and the wordings a DANFE prints."""
        page = Page.of(1, "\n".join(pages))
        score = 0.5 if access_keys(page) else 0.0
        score += min(0.5, 0.2 * len({m.group() for m in NFE_WORDS.finditer(page.folded)}))
        return min(score, 1.0)

    def _page(self, page: Page) -> candidates.Found:
        taxes = [
            candidates.tax_id(h)
            for h in values_after(page, TAX_LABEL, candidates.TAX_ID_PATTERN, lines_below=1)
        ]
        names = [candidates.name(h) for h in name_after(page, NAME_LABEL, STOP)]
        numbers = [
            Candidate(
                str(int(re.sub(r"\D", "", h.text))), h.confidence, page.number, (h.start, h.end)
            )
            for h in values_after(page, NUMBER_LABEL, NUMBER_PATTERN, lines_below=1)
        ]
        keys = access_keys(page)
        recipients = [
            *(candidates.name(h) for h in name_after(page, RECIPIENT_LABEL, STOP)),
            *_in_block(page, RECIPIENT_LABEL, ISSUER_LABEL, names),
        ]
        return {
            "access_key": list(keys),
            "number": list(numbers),
            "series": [
                Candidate(str(int(h.text)), h.confidence, page.number, (h.start, h.end))
                for h in values_after(page, SERIES_LABEL, re.compile(r"\d{1,3}"), lines_below=1)
            ],
            "issued_at": [
                candidates.day(h) for h in values_after(page, ISSUED_LABEL, candidates.DATE_PATTERN)
            ],
            "issuer_name": [
                *(candidates.name(h) for h in name_after(page, ISSUER_LABEL, STOP)),
                *_in_block(page, ISSUER_LABEL, RECIPIENT_LABEL, names),
                *_stub_issuer(page),
                *_issuer_over_cnpj(page, keys),
            ],
            "issuer_tax_id": list(_in_block(page, ISSUER_LABEL, RECIPIENT_LABEL, taxes)),
            "recipient_name": [*recipients],
            "recipient_tax_id": [
                *_in_block(page, RECIPIENT_LABEL, ISSUER_LABEL, taxes),
                *candidates.tax_ids_beside(recipients, page),
            ],
            "total_amount": [
                *_note_totals(page),
                *_bare_totals(page),
            ],
        }

    def extract(self, pages: list[str]) -> dict[str, Field]:
        """The DANFE's fields, completed from a valid access key."""
        found = candidates.gather(pages, self._page)
        access = candidates.choose(found["access_key"])
        if access is not None and access.valid:
            cnpj = access.value[6:20]
            found["issuer_tax_id"].append(Candidate(cnpj, 0.96, access.page, access.span, True))
            for name, value in (("series", access.value[22:25]), ("number", access.value[25:34])):
                found[name].append(Candidate(str(int(value)), 0.9, access.page, access.span))
        return candidates.fields_of(found)
