"""The built-in PIX receipt extractor (``pix_receipt``).

Fields: ``amount``, ``paid_at``, ``end_to_end_id``, ``payer_name``,
``payer_tax_id``, ``payee_name``, ``payee_tax_id``, ``payee_institution``.
Labels vary between banks and apps (``Valor``/``Valor pago``/``Quantia``;
``ID da transação``/``Identificador``/``Autenticação``; in English,
``Amount``, ``Paid on``, ``Transaction ID``); the end-to-end id
is found by its shape anywhere on the page, with OCR look-alikes repaired.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from folio_shared.identifiers import e2e_date, e2e_ispb_known, e2e_valid, repair_e2e
from folio_worker_docs.extraction import candidates, pix_evidence, pix_wrapped
from folio_worker_docs.extraction.labels import (
    SPECKS,
    Hit,
    Page,
    name_on_line,
    values_after,
)
from folio_worker_docs.extraction.normalise import (
    MERIDIEM,
    date_from_match,
    time_after,
    twelve_hour,
)
from folio_worker_docs.extraction.parties import (
    INSTITUTION_LABEL,
    LABEL_WORDS,
    PAYEE,
    PAYER,
    STOP,
)
from folio_worker_docs.extraction.pix_labels import (
    AMOUNT_LABEL,
    E2E_LABEL,
    PAID_AT_LABEL,
    SIDE_AMOUNT,
    SIDE_DATE,
    TIME_LABEL,
)
from folio_worker_docs.extraction.pix_wrapped import E2E_DATE_SLACK, near_any
from folio_worker_docs.extraction.types import Candidate, Field

#: A payee named in a sentence, as app screens print it (``Você transferiu
#: R$ 50,00 para Maria Souza``, ``Pix de R$ 50,00 para ...``). The sentence
#: may wrap before ``para``; the name is on ``para``'s line, or on the next
#: when ``para`` ends its line and that line is no labelled one
#: (:data:`_LABELLED_LINE`).
SENTENCE_PAYEE = re.compile(
    r"(?<![a-z])(?:voce\s+(?:transferiu|enviou|pagou|fez\s+um\s+pix\s+de)"
    r"|(?:pix|transferencia)\s+(?:enviad[oa]\s+)?de)\s+(?:r\$\s?)?\d[\d.,]*"
    r"\s+para(?![a-z0-9])[ \t]*"
)
#: A line that starts with a label or a section header (``Pagador``,
#: ``Nome:``, ``CPF  123...``): another part of the receipt, not a wrapped
#: name. A name that only starts with a label's word (``Valor Real Imóveis``,
#: ``Conta Azul Ltda``) is no label: the word must end the line or be
#: followed by a colon, a slash or a column gap, or the line hold a figure
#: (``Conta corrente 1234-5``). (A line that starts the
#: payer's section, ``Pagador Ana Lima``, is not the payee's name either.)
_LABELLED_LINE = re.compile(
    r"[ \t"
    + re.escape(SPECKS)
    + r"]*"
    + LABEL_WORDS
    + r"(?:[ \t]*[:/|]|[ \t]*(?:\n|$)|[ \t]{2,}|\t|(?![a-z0-9])[^\n]*\d)"
)
#: Where such a sentence goes on past the name (``... para Maria em 05/12``,
#: ``... às 14:32``); ``em`` or ``às`` before a word is the name's own
#: (``Data Center Soluções em TI``).
_SENTENCE_GOES_ON = re.compile(r"\s+(?:(?:em|as)\s+(?=\d)|no dia|hoje|ontem|via)(?![a-z])|[,;]")
CLOCK = re.compile(
    r"(?<![\d:])(?:[01]?\d|2[0-3])\s?[:h]\s?[0-5]\d(?::[0-5]\d)?(?![\d:])" + MERIDIEM
)
#: A line that holds only a time (``14:32``, ``às 14h32``, `` - 14:32:07``).
_CLOCK_ALONE = re.compile(r"[ \t\-\u2022|]*(?:as\s+|at\s+)?" + CLOCK.pattern + r"[ \t]*")
#: What an id whose ISPB is no listed institution's keeps of its confidence.
UNLISTED_ISPB = 0.9
#: Share of the kept id's confidence from which another valid id competes
#: with it (:func:`_contested`), and what the kept id then keeps of its own.
RIVAL_SHARE = 0.9
CONTESTED = 0.6
E2E_LOOSE = re.compile(r"(?<![A-Za-z0-9])[Ee€3][0-9A-Za-z|!]{27,35}(?![A-Za-z0-9])")

#: An id OCR split with spaces (``E 1057352 1 2026...``): a head and up to
#: five more groups; the groups that make 32 characters are tried.
E2E_SPACED = re.compile(r"(?<![A-Za-z0-9])[Ee€][0-9A-Za-z|!]*(?: [0-9A-Za-z|!]+){1,5}")


def _spaced(text: str) -> list[tuple[re.Match[str], str, int]]:
    """Ids split by spaces: ``(match, the 32 characters, end offset)``."""
    out = []
    for m in E2E_SPACED.finditer(text):
        joined, end = "", m.start()
        for group in re.finditer(r"\S+", m.group()):
            joined += group.group()
            end = m.start() + group.end()
            if len(joined) >= 32:
                break
        if len(joined) == 32:
            out.append((m, joined, end))
    return out


def end_to_end_ids(page: Page) -> list[Candidate]:
    """Ids shaped like a PIX end-to-end id, repaired, also when wrapped over
    lines (:mod:`.pix_wrapped`) or split by spaces. An id whose ISPB is no
    listed institution's is kept, less trusted (a participant newer than the
    list prints real ids)."""
    found: list[Candidate] = []
    labelled = {m.end() for m in E2E_LABEL.finditer(page.folded)}
    text = page.text
    paid: list[str] | None = None

    def moments() -> list[str]:
        nonlocal paid
        if paid is None:
            paid = [c.value for c in _paid_at(page) if c is not None]
        return paid

    def confidence(start: int, fixed: str, raw: str) -> float:
        near = any(0 <= start - e <= 80 for e in labelled)
        listed = 1.0 if e2e_ispb_known(fixed) else UNLISTED_ISPB
        return (0.97 if near else 0.9) * (1.0 if fixed == raw else 0.92) * listed

    for joined, whole in pix_wrapped.wrapped_ids(text, moments):
        conf = confidence(joined.start, whole, joined.raw)
        found.append(Candidate(whole, conf, page.number, (joined.start, joined.end), True))
    loose = list(E2E_LOOSE.finditer(text))
    for m in loose:
        raw = m.group()
        fixed = repair_e2e(raw)
        if fixed is not None and e2e_valid(fixed):
            conf = confidence(m.start(), fixed, raw)
            found.append(Candidate(fixed, conf, page.number, m.span(), True))
        elif any(0 <= m.start() - e <= 80 for e in labelled) and raw[0] in "Ee":
            found.append(Candidate(raw, 0.3, page.number, m.span(), False))
    starts = {m.start() for m in loose}
    spaced = [s for s in _spaced(text) if s[0].start() not in starts]
    # groups of junk on a coarse photo can make a valid-looking id: a split
    # one counts only when read as printed (no look-alike repaired) and dated
    # near a date-time printed on the page
    for m, raw, end in spaced:
        if e2e_valid(raw) and near_any(raw, moments()):
            conf = 0.85 * (1.0 if e2e_ispb_known(raw) else UNLISTED_ISPB)
            found.append(Candidate(raw, conf, page.number, (m.start(), end), True))
    return found


def _amounts(page: Page) -> list[Candidate | None]:
    out: list[Candidate | None] = []
    for hit in values_after(page, AMOUNT_LABEL, candidates.AMOUNT_PATTERN):
        cand = candidates.amount(hit)
        if cand is None:
            continue
        line_start, line_end = page.line_bounds(hit.label_start)
        label_line = page.folded[line_start : min(line_end, hit.label_start + 40)]
        if SIDE_AMOUNT.search(label_line):
            cand = Candidate(cand.value, 0.4, cand.page, cand.span)
        elif "valor" not in page.folded[hit.label_start : hit.label_start + 6]:
            cand = Candidate(cand.value, cand.confidence * 0.97, cand.page, cand.span)
        out.append(cand)
    return out or _unlabelled_amounts(page)


def _unlabelled_amounts(page: Page) -> list[Candidate | None]:
    """Amounts printed with their currency but no label (apps print the amount
    large under a heading), first one first; side amounts left out."""
    out: list[Candidate | None] = []
    for m in candidates.AMOUNT_PATTERN.finditer(page.folded):
        line_start, line_end = page.line_bounds(m.start())
        line = page.folded[line_start:line_end]
        currency = "r$" in m.group() or page.folded.startswith(" brl", m.end())
        if currency and not SIDE_AMOUNT.search(line):
            hit = Hit(page, m.start(), m.end(), m, 0.6, m.start())
            out.append(candidates.amount(hit))
    return out[:1]


def _sentence_payees(page: Page) -> list[Candidate]:
    """Payees named in a sentence (:data:`SENTENCE_PAYEE`), at lower
    confidence than a labelled name."""
    out = []
    for m in SENTENCE_PAYEE.finditer(page.folded):
        start = m.end()
        _, line_end = page.line_bounds(start)
        if not page.folded[start:line_end].strip(" \t" + SPECKS):
            # ``para`` ends its line: a name wrapped onto the next one
            if (
                line_end == len(page.folded)
                or _LABELLED_LINE.match(page.folded, line_end + 1)
                or PAYER.starts_section(page, line_end + 1)
            ):
                continue
            start, line_end = page.line_bounds(line_end + 1)
        goes_on = _SENTENCE_GOES_ON.search(page.folded, start, line_end)
        hit = name_on_line(page, start, goes_on.start() if goes_on else line_end, STOP, 0.7)
        if hit is not None:
            out.append(candidates.name(hit))
    return out


def _clock(match: re.Match[str]) -> str:
    hour, minute = re.findall(r"\d+", match.group())[:2]
    return f"{twelve_hour(int(hour), match.group(1)) or 0:02d}:{minute}"


def _timed(page: Page, hit: Hit) -> Candidate | None:
    """A date printed without its time, with the time found elsewhere: later on
    a line that prints the same date (not an issue or print date's), else
    under a time label (``Horário``), else alone on the line right under
    the date (apps print ``05/12/2026`` over ``14:32``)."""
    day = date_from_match(hit.match)
    if day is None:
        return None
    clocks = []
    for m in candidates.DATE_PATTERN.finditer(page.folded):
        line_start, line_end = page.line_bounds(m.start())
        if date_from_match(m) == day and not SIDE_DATE.search(page.folded, line_start, m.start()):
            clock = CLOCK.search(page.folded, m.end(), line_end)
            clocks.extend([clock] if clock else [])
    clocks += [h.match for h in values_after(page, TIME_LABEL, CLOCK)]
    for start, end in page.next_lines(hit.end, 1):
        alone = _CLOCK_ALONE.fullmatch(page.folded, start, end)
        clocks.extend([alone] if alone else [])
    if not clocks:
        return None
    value = f"{day}T{_clock(clocks[0])}"
    return Candidate(value, hit.confidence * 0.95, page.number, (hit.start, hit.end))


def _paid_at(page: Page) -> list[Candidate | None]:
    out: list[Candidate | None] = []
    for hit in values_after(page, PAID_AT_LABEL, candidates.DATE_PATTERN):
        cand = candidates.moment(hit)
        if cand is None:
            continue
        if time_after(page.folded, hit.end) is None:
            cand = _timed(page, hit) or cand
        line_start, line_end = page.line_bounds(hit.label_start)
        if SIDE_DATE.search(page.folded[line_start : min(line_end, hit.label_start + 30)]):
            cand = Candidate(cand.value, 0.4, cand.page, cand.span)
        out.append(cand)
    if not any(out):
        for m in candidates.DATE_PATTERN.finditer(page.folded):
            hit = Hit(page, m.start(), m.end(), m, 0.6, m.start())
            timed = None if time_after(page.folded, m.end()) else _timed(page, hit)
            out.append(timed or candidates.moment(hit))
    return out


def _dated(candidate: Candidate | None, paid_at: str) -> Candidate | None:
    """``candidate`` at lower confidence when its embedded date (UTC) is more than
    :data:`E2E_DATE_SLACK` from the printed payment date-time (local time)."""
    if candidate is None:
        return None
    embedded = e2e_date(candidate.value)
    try:
        paid = datetime.fromisoformat(paid_at)
    except ValueError:
        return candidate
    if embedded is not None and abs(embedded - paid) <= E2E_DATE_SLACK:
        return candidate
    return replace(candidate, confidence=candidate.confidence * 0.8)


def _contested(field: Field | None) -> Field | None:
    """``field`` at :data:`CONTESTED` of its confidence when another valid
    id is among its alternatives at :data:`RIVAL_SHARE` of it or more: two
    readings of one printed id that disagree (OCR read its regions apart, a
    look-alike in each), so the one kept is a guess between them. Those
    rivals are guesses as much and keep the same share, so the id kept
    stays at least as sure as each alternative."""
    if field is None:
        return None
    floor = RIVAL_SHARE * field.confidence

    def rival(a: Candidate) -> bool:
        return bool(a.valid) and a.confidence >= floor

    if not any(rival(a) for a in field.alternatives):
        return field
    alternatives = tuple(
        replace(a, confidence=a.confidence * CONTESTED) if rival(a) else a
        for a in field.alternatives
    )
    return replace(field, confidence=field.confidence * CONTESTED, alternatives=alternatives)


class PixReceiptExtractor:
    """Fields of a PIX transfer receipt (``comprovante``), from any bank or app."""

    document_type = "pix_receipt"
    version = "22"

    def score(self, pages: list[str]) -> float:
        """The receipt's evidence (:mod:`.pix_evidence`): an end-to-end id,
        Pix, a payment made, an amount, a date, the parties."""
        page = Page.of(1, "\n".join(pages))
        # an amount printed with its currency and no label counts as an amount
        # (apps print it large under a heading), as the extraction takes it
        amount = AMOUNT_LABEL.search(page.folded) or any(_unlabelled_amounts(page))
        dated = PAID_AT_LABEL.search(page.folded) or any(
            time_after(page.folded, m.end()) for m in candidates.DATE_PATTERN.finditer(page.folded)
        )
        payee = PAYEE.sections(page, PAYER) or PAYEE.names(page, PAYER)
        ids = end_to_end_ids(page)
        layout = pix_evidence.Layout(
            has_id=bool(ids),
            # an id's ISPB and minute tell one transfer from another
            transfers=len({c.value[:21] for c in ids if c.valid}),
            has_amount=bool(amount),
            has_date=bool(dated),
            has_parties=bool(payee),
            has_both_parties=bool(
                payee and (PAYER.sections(page, PAYEE) or PAYER.names(page, PAYEE))
            ),
            has_institution=bool(INSTITUTION_LABEL.search(page.folded)),
        )
        return pix_evidence.score(page.folded, layout)

    def extract(self, pages: list[str]) -> dict[str, Field]:
        """The receipt's fields; names from sections or flat labels. An id
        whose embedded date is far from the payment's, or that another
        valid id competes with (:func:`_contested`), is less trusted."""
        found = candidates.gather(pages, self._page)
        paid = candidates.choose(found["paid_at"])
        if paid is not None:
            found["end_to_end_id"] = [_dated(c, paid.value) for c in found["end_to_end_id"]]
        fields = candidates.fields_of(found)
        e2e = _contested(fields.get("end_to_end_id"))
        return fields if e2e is None else {**fields, "end_to_end_id": e2e}

    def _page(self, page: Page) -> candidates.Found:
        return {
            "amount": _amounts(page),
            "paid_at": _paid_at(page),
            "end_to_end_id": list(end_to_end_ids(page)),
            "payer_name": [*PAYER.names(page, PAYEE), *PAYER.holder(page, PAYEE)],
            "payer_tax_id": list(PAYER.tax_ids(page, PAYEE)),
            "payee_name": [*PAYEE.names(page, PAYER), *_sentence_payees(page)],
            "payee_tax_id": list(PAYEE.tax_ids(page, PAYER)),
            "payee_institution": list(PAYEE.institutions(page, PAYER)),
        }
