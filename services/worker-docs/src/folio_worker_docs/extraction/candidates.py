"""Turning label hits into candidates, and candidates into a field.

Shared by the built-in extractors: the value patterns of tax ids, amounts,
dates and date-times, each hit normalised into a
:class:`~folio_worker_docs.extraction.types.Candidate`, and :func:`choose`,
which keeps the most confident and lists the rest as alternatives.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from folio_shared.identifiers import (
    DIGIT_LOOKALIKES,
    MASKED_CNPJ,
    MASKED_CPF,
    cpf_valid,
    tax_id_valid,
)
from folio_worker_docs.extraction.labels import Hit, Page
from folio_worker_docs.extraction.normalise import (
    AMOUNT_PATTERN,
    DATE_PATTERN,
    date_from_match,
    parse_amount,
    tidy_name,
    time_after,
)
from folio_worker_docs.extraction.types import Candidate, Field

#: Candidates by field name.
Found = dict[str, list["Candidate | None"]]

#: A masked CPF as OCR reads its marks: up to four characters for the first
#: three (no digit but ``0``), the six digits (a space or comma for a dot), up
#: to three for the last two. Asterisks read as ``“rr.``, ``+++``, ``"*``;
#: bullets as ``000``, ``soe``, ``v00,``, ``eee.``; a hyphen as ``:``.
_MASK_READ = r"[^\s1-9]{1,4}\s?[.,]?\s?(\d{3})[.,]\s?(\d{3})\s?[-.:]\s?[^\s1-9]{1,3}(?![^\s.,;|])"
MASKED_READ = re.compile(_MASK_READ)
#: CNPJ (``11.222.333/0001-81``), CPF (``123.456.789-09``), a masked CNPJ
#: (``**.222.333/0001-**``: its slash and hyphen kept, so it is no CPF's),
#: a masked CPF, or 11/14 bare digits. A tax id masked whole
#: (``***.***.***-**``) holds no digit to keep: it is no tax id.
TAX_ID_PATTERN = re.compile(
    r"(?<![\d*./])(?:\d{2}\.?\d{3}\.?\d{3}\s?/?\s?\d{4}\s?-?\s?\d{2}"
    r"|(?=[\d./\s-]*[*•x])(?=[*•x./\s-]*\d)(?:\d{2}|[*•x]{2})\.?(?:\d{3}|[*•x]{3})\.?"
    r"(?:\d{3}|[*•x]{3})\s?/\s?(?:\d{4}|[*•x]{4})\s?-\s?(?:\d{2}|[*•x]{2})"
    r"|\d{3}\s?\.?\s?\d{3}\s?\.?\s?\d{3}\s?[-.]?\s?\d{2}"
    r"|(?=[\d.\s-]*[*•x])(?![*•x]{3}[.\s]?[*•x]{3}[.\s]?[*•x]{3}[-\s]?[*•x]{2})"
    r"(?:\d{3}|[*•x]{3})[.\s]?(?:\d{3}|[*•x]{3})[.\s]?"
    r"(?:\d{3}|[*•x]{3})[-\s]?(?:\d{2}|[*•x]{2})"
    r"|" + _MASK_READ.replace("(\\d{3})", "\\d{3}") + r")(?![\d*]|[./]\d)"
)
#: Mask marks as OCR reads a round bullet (``•``): ``0``, ``o``, ``e``, ``s``,
#: ``c``, ``v``, a degree sign. Quotes and separators say nothing either way;
#: anything else (``*``, ``+``, ``r``, ``x``) reads an asterisk.
ROUND_MARKS = frozenset("0oOeEsScCvVuU°º•")
_NEUTRAL_MARKS = frozenset(" .,-:\"'\u2018\u2019\u201c\u201d")


def _masked_value(printed: str, read: re.Match[str]) -> str:
    """The masked CPF ``read`` stands for, with the marks printed: ``•`` when the
    marks read as round glyphs, else ``*``."""
    marks = set(printed[: read.start(1)] + printed[read.end(2) :]) - _NEUTRAL_MARKS
    mark = "•" if marks and marks <= ROUND_MARKS else "*"
    return f"{mark * 3}.{read[1]}.{read[2]}-{mark * 2}"


def _masked_cpf(printed: str) -> str:
    """A masked CPF with its marks and digits as printed and the usual
    separators (``*** 456 789 **`` → ``***.456.789-**``)."""
    marks = re.sub(r"[.\s-]", "", printed)  # 11: MASKED_CPF's groups, 3 + 3 + 3 + 2
    return f"{marks[:3]}.{marks[3:6]}.{marks[6:9]}-{marks[9:]}"


def _masked_cnpj(printed: str) -> str:
    """A masked CNPJ as printed, with the usual separators
    (``** 222 333/0001-**`` → ``**.222.333/0001-**``)."""
    marks = re.sub(r"[./\s-]", "", printed)  # 14: MASKED_CNPJ's groups, 2 + 3 + 3 + 4 + 2
    return f"{marks[:2]}.{marks[2:5]}.{marks[5:8]}/{marks[8:12]}-{marks[12:]}"


def _as_printed(printed: str) -> str:
    """A tax id's value: a masked CPF or CNPJ as printed, else its digits."""
    if MASKED_CNPJ.fullmatch(printed):
        return _masked_cnpj(printed)
    if MASKED_CPF.fullmatch(printed):
        return _masked_cpf(printed)
    return re.sub(r"\D", "", printed)


def tax_id(hit: Hit) -> Candidate:
    """A tax id candidate: digits only, or a masked CPF or CNPJ as printed; check digits verdict.

    A masked CPF or CNPJ is kept as printed, with the usual separators. One whose
    marks OCR misread (:data:`MASKED_READ`) is returned as
    printed, at lower confidence: ``•••.456.789-••`` when its marks read as
    round glyphs (:data:`ROUND_MARKS`), else ``***.456.789-**``. Zeros where
    a CPF's first three and last two digits belong are marks only when the
    whole does not hold as a CPF."""
    printed = hit.text
    value = _as_printed(printed)
    confidence = hit.confidence
    read = MASKED_READ.fullmatch(printed)
    if read is not None and not MASKED_CPF.fullmatch(printed) and not cpf_valid(value):
        value = _masked_value(printed, read)
        confidence *= 0.85
    valid = tax_id_valid(value)
    confidence *= 0.7 if valid is False else 1.0
    return Candidate(value, confidence, hit.page.number, (hit.start, hit.end), valid)


#: What may sit between a party's name and the tax id printed after it on
#: its line: a dash, a comma or a bar, a column gap, the tax id's own label.
_BESIDE_NAME = re.compile(
    r"[ \t]*(?:[-\u2013,|(][ \t]*)?(?:(?:cpf|cnpj)(?:[ \t]?/[ \t]?(?:cpf|cnpj))?[ \t]*:?[ \t]*)?"
)

#: Confidence of a tax id found beside its party's name, no label before it.
BESIDE_NAME_CONFIDENCE = 0.8


def tax_ids_beside(names: list[Candidate], page: Page) -> list[Candidate]:
    """Tax ids printed right after a party's name on the name's line, with no
    label of their own (``Editora Sol - 11.222.333/0001-81``, ``DESTINATÁRIO:
    Ana Lima - 123.456.789-09``): the party's, at lower confidence than a
    labelled one. ``names`` are that party's name candidates on ``page``."""
    found = []
    for name_found in names:
        if name_found.page != page.number:
            continue
        _, line_end = page.line_bounds(name_found.span[0])
        gap = _BESIDE_NAME.match(page.folded, name_found.span[1], line_end)
        m = TAX_ID_PATTERN.match(page.folded, gap.end() if gap else name_found.span[1], line_end)
        if m is not None:
            hit = Hit(page, m.start(), m.end(), m, BESIDE_NAME_CONFIDENCE, m.start())
            found.append(tax_id(hit))
    return found


def amount(hit: Hit) -> Candidate | None:
    """An amount candidate (``"1234.56"``)."""
    value = parse_amount(hit.text)
    if value is None:
        return None
    return Candidate(value, hit.confidence, hit.page.number, (hit.start, hit.end))


def day(hit: Hit) -> Candidate | None:
    """A date candidate (``YYYY-MM-DD``)."""
    value = date_from_match(hit.match)
    if value is None:
        return None
    return Candidate(value, hit.confidence, hit.page.number, (hit.start, hit.end))


def moment(hit: Hit) -> Candidate | None:
    """A date-time candidate (``YYYY-MM-DDTHH:MM``); a date without a time keeps ``T00:00``
    at lower confidence."""
    value = date_from_match(hit.match)
    if value is None:
        return None
    clock = time_after(hit.page.folded, hit.end)
    if clock is None:
        return Candidate(
            f"{value}T00:00", hit.confidence * 0.6, hit.page.number, (hit.start, hit.end)
        )
    return Candidate(f"{value}T{clock[0]}", hit.confidence, hit.page.number, (hit.start, clock[1]))


def name(hit: Hit) -> Candidate:
    """A name candidate, as printed (surrounding spaces trimmed), less OCR's
    specks (:func:`~folio_worker_docs.extraction.normalise.tidy_name`); the
    span is the printed name's."""
    text = hit.text.strip(" -")
    start = hit.start + hit.text.index(text[:1]) if text else hit.start
    span = (start, start + len(text))
    return Candidate(tidy_name(text), hit.confidence * 0.95, hit.page.number, span)


def digit_ids(
    page: Page,
    pattern: re.Pattern[str],
    lengths: tuple[int, ...],
    valid: Callable[[str], bool],
    repair: Callable[[str], str | None] | None = None,
) -> list[Candidate]:
    """Long digit ids (boleto lines, access keys) printed in groups: look-alikes read
    as digits, the check-digit verdict kept (an invalid one at lower confidence,
    and, with ``repair``, after its correction when one is found: :func:`repaired`)."""
    found = []
    for m in pattern.finditer(page.text):
        digits = re.sub(r"[ .-]", "", m.group()).translate(DIGIT_LOOKALIKES)
        behind = _led(m, lengths, valid)
        if behind is not None:
            found.append(Candidate(behind[0], 0.95, page.number, behind[1], True))
        elif len(digits) in lengths and digits.isdigit():
            ok = valid(digits)
            read = Candidate(digits, 0.97 if ok else 0.5, page.number, (m.start(), m.end()), ok)
            fixed = None if ok or repair is None else repaired(read, repair)
            found.extend([fixed, read] if fixed is not None else [read])
    return found


def _led(
    match: re.Match[str], lengths: tuple[int, ...], valid: Callable[[str], bool]
) -> tuple[str, tuple[int, int]] | None:
    """The valid id that ends a run of digit groups led by other digits (a
    bank's code and check digit, ``237-2 00190.00009 ...``, or a form's box
    number printed before the id), with its span; ``None`` when the whole run
    is a valid id or no run short of its first groups is one."""
    text = match.group()
    whole = re.sub(r"[ .-]", "", text).translate(DIGIT_LOOKALIKES)
    if len(whole) in lengths and whole.isdigit() and valid(whole):
        return None
    for group in re.finditer(r"(?<= )[^ ]", text):
        digits = re.sub(r"[ .-]", "", text[group.start() :]).translate(DIGIT_LOOKALIKES)
        if len(digits) < min(lengths):
            return None
        if len(digits) in lengths and digits.isdigit() and valid(digits):
            return digits, (match.start() + group.start(), match.end())
    return None


#: A line holding only digit groups: part of a long id printed over two lines
#: (a speck a scan adds before or after them, ``-`` or ``.``, passed over).
DIGIT_ROW = re.compile(
    r"(?m)^[ \t]*(?:[-.,:;|'][ \t]*)?(\d[\dOoIl .]{8,60}[\dOoIl])(?:[ \t]*[-.,:;|'])?[ \t]*$"
)


def wrapped_digit_ids(
    page: Page,
    lengths: tuple[int, ...],
    valid: Callable[[str], bool],
    repair: Callable[[str], str | None] | None = None,
) -> list[Candidate]:
    """Long digit ids printed over two consecutive lines of digit groups. Two
    lines joined by chance rarely make a valid id: only valid ones are kept,
    and, with ``repair``, invalid ones it corrects (:func:`repaired`)."""
    found = []
    rows = list(DIGIT_ROW.finditer(page.text))
    for first, second in itertools.pairwise(rows):
        if page.text[first.end() : second.start()].strip():
            continue
        joined = first.group(1) + second.group(1)
        digits = re.sub(r"[ .]", "", joined).translate(DIGIT_LOOKALIKES)
        if len(digits) in lengths and digits.isdigit() and valid(digits):
            span = (first.start(1), second.end(1))
            found.append(Candidate(digits, 0.95, page.number, span, True))
        elif repair is not None and len(digits) in lengths and digits.isdigit():
            read = Candidate(digits, 0.5, page.number, (first.start(1), second.end(1)), False)
            fixed = repaired(read, repair)
            found.extend([fixed, read] if fixed is not None else [])
    return found


#: Confidence of an id one digit of which the check digits corrected.
REPAIRED_CONFIDENCE = 0.6


def repaired(read: Candidate, repair: Callable[[str], str | None]) -> Candidate | None:
    """The id ``read`` (invalid) corrected, when its check digits locate one
    misread digit (``repair`` finds exactly one fix): valid, at
    :data:`REPAIRED_CONFIDENCE`, below any id read valid; the caller keeps
    ``read`` beside it, so the field lists the id as read among its
    alternatives."""
    fixed = repair(read.value)
    if fixed is None:
        return None
    return Candidate(fixed, REPAIRED_CONFIDENCE, read.page, read.span, True)


def gather(pages: list[str], per_page: Callable[[Page], Found]) -> Found:
    """Every page's candidates, by field name (page 1 first)."""
    found: Found = {}
    for number, text in enumerate(pages, start=1):
        for key, values in per_page(Page.of(number, text)).items():
            found.setdefault(key, []).extend(values)
    return found


def fields_of(found: Found) -> dict[str, Field]:
    """The chosen field of each name that has a candidate."""
    fields = {key: choose(values) for key, values in found.items()}
    return {key: f for key, f in fields.items() if f is not None}


def choose(candidates: list[Candidate | None]) -> Field | None:
    """The most confident candidate as a field (earliest wins a tie), others as alternatives."""
    found = [c for c in candidates if c is not None]
    if not found:
        return None
    best = max(found, key=lambda c: c.confidence)
    rest = sorted((c for c in found if c is not best), key=lambda c: -c.confidence)
    return Field.from_candidates(best, rest)


__all__ = [
    "AMOUNT_PATTERN",
    "DATE_PATTERN",
    "TAX_ID_PATTERN",
    "Found",
    "Page",
    "amount",
    "choose",
    "day",
    "digit_ids",
    "fields_of",
    "gather",
    "moment",
    "name",
    "tax_id",
    "tax_ids_beside",
    "wrapped_digit_ids",
]
