"""Check digits and shapes of Brazilian payment identifiers (CPF, CNPJ, boleto
lines, NF-e access keys, PIX end-to-end ids): read by worker-docs' field
extractors and by worker-ocr's targeted re-reading of id regions.

Each ``*_valid`` function takes the identifier as digits (or, for PIX ids,
characters) and says whether its check digits or shape hold. None of them
raise: an invalid identifier is reported, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from importlib import resources

#: A masked CPF as printed on PIX receipts, kept as printed: each group all
#: digits or all marks, some of each (``***.456.789-**``, the common form;
#: ``123.456.***-**``, ``***.***.789-01``, ``*** 456 789 **``).
MASKED_CPF = re.compile(
    r"(?=.*[*•xX])(?=.*\d)(?:\d{3}|[*•xX]{3})[.\s]?(?:\d{3}|[*•xX]{3})[.\s]?"
    r"(?:\d{3}|[*•xX]{3})[-\s]?(?:\d{2}|[*•xX]{2})"
)
#: A masked CNPJ as receipts print it, kept as printed the same way
#: (``**.222.333/0001-**``, ``11.***.***/0001-81``).
MASKED_CNPJ = re.compile(
    r"(?=.*[*•xX])(?=.*\d)(?:\d{2}|[*•xX]{2})\.?(?:\d{3}|[*•xX]{3})\.?(?:\d{3}|[*•xX]{3})"
    r"\s?/?\s?(?:\d{4}|[*•xX]{4})\s?-?\s?(?:\d{2}|[*•xX]{2})"
)

#: Characters OCR confuses with digits, and the digit each one stands for.
DIGIT_LOOKALIKES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "Q": "0",
        "I": "1",
        "l": "1",
        "|": "1",
        "i": "1",
        "!": "1",
        "Z": "2",
        "z": "2",
        "S": "5",
        "s": "5",
        "B": "8",
        "G": "6",
        "b": "6",
        "T": "7",
        "g": "9",
        "q": "9",
    }
)


def _mod11_weights(digits: str, max_weight: int = 9) -> int:
    total, weight = 0, 2
    for ch in reversed(digits):
        total += int(ch) * weight
        weight = 2 if weight == max_weight else weight + 1
    return total


def _mod10(digits: str) -> int:
    total, factor = 0, 2
    for ch in reversed(digits):
        product = int(ch) * factor
        total += product // 10 + product % 10
        factor = 1 if factor == 2 else 2
    return (10 - total % 10) % 10


def cpf_valid(digits: str) -> bool:
    """Whether an 11-digit CPF's two check digits hold (repeated digits fail)."""
    if len(digits) != 11 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    for size in (9, 10):
        total = sum(int(d) * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=True))
        if (total * 10) % 11 % 10 != int(digits[size]):
            return False
    return True


def cnpj_valid(digits: str) -> bool:
    """Whether a 14-digit CNPJ's two check digits hold (repeated digits fail)."""
    if len(digits) != 14 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    for size in (12, 13):
        rest = _mod11_weights(digits[:size]) % 11
        if (0 if rest < 2 else 11 - rest) != int(digits[size]):
            return False
    return True


def tax_id_valid(value: str) -> bool | None:
    """CPF or CNPJ by length; ``None`` for a masked CPF or CNPJ (nothing to check)."""
    if MASKED_CPF.fullmatch(value) or MASKED_CNPJ.fullmatch(value):
        return None
    if len(value) == 11:
        return cpf_valid(value)
    return cnpj_valid(value) if len(value) == 14 else False


def nfe_key_valid(digits: str) -> bool:
    """Whether a 44-digit NF-e access key's modulo-11 check digit holds."""
    if len(digits) != 44 or not digits.isdigit():
        return False
    rest = _mod11_weights(digits[:43]) % 11
    return (0 if rest < 2 else 11 - rest) == int(digits[43])


def bank_barcode_from_line(line: str) -> str:
    """The 44-digit barcode of a 47-digit bank-slip digitable line."""
    return line[0:4] + line[32] + line[33:47] + line[4:9] + line[10:20] + line[21:31]


def bank_line_valid(line: str) -> bool:
    """Whether a 47-digit bank boleto line's three field digits and general digit hold."""
    if len(line) != 47 or not line.isdigit():
        return False
    for body, dv in ((line[0:9], line[9]), (line[10:20], line[20]), (line[21:31], line[31])):
        if _mod10(body) != int(dv):
            return False
    barcode = bank_barcode_from_line(line)
    general = 11 - _mod11_weights(barcode[:4] + barcode[5:]) % 11
    return (1 if general in (0, 10, 11) else general) == int(barcode[4])


def _arrecadacao_dv(digits: str, use_mod10: bool) -> int:
    if use_mod10:
        return _mod10(digits)
    rest = _mod11_weights(digits) % 11
    return 0 if rest in (0, 1) else 11 - rest


def collection_line_valid(line: str) -> bool:
    """Whether a 48-digit arrecadação (utility/tax) line's block and general digits hold.

    The third digit picks the modulus: 6 or 7 modulo 10, 8 or 9 modulo 11.
    """
    if len(line) != 48 or not line.isdigit() or line[0] != "8" or line[2] not in "6789":
        return False
    use_mod10 = line[2] in "67"
    blocks = [line[i : i + 12] for i in range(0, 48, 12)]
    if any(_arrecadacao_dv(b[:11], use_mod10) != int(b[11]) for b in blocks):
        return False
    barcode = "".join(b[:11] for b in blocks)
    return _arrecadacao_dv(barcode[:3] + barcode[4:], use_mod10) == int(barcode[3])


def digitable_line_valid(line: str) -> bool:
    """A bank (47 digits) or arrecadação (48 digits) line's check digits."""
    return collection_line_valid(line) if len(line) == 48 else bank_line_valid(line)


def repair_digitable_line(line: str, agrees: Callable[[str], bool] | None = None) -> str | None:
    """The one line, differing from ``line`` in a single digit, whose check
    digits hold (and that ``agrees`` with what else the document prints, such
    as its amount and due date); ``None`` when ``line`` already holds, or when
    no single-digit change fits, or more than one does (the wrong digit cannot
    be located).

    A bank line's three field digits (modulo 10) say which field holds a
    misread digit, and its general digit (modulo 11) which change in it is
    right; an arrecadação line's block digits and general digit likewise. A
    misread amount or due-date factor upsets only the general digit, and many
    changes fit it: the printed amount and due date (``agrees``) pick one.
    The caller must say the value was corrected: this is an inference from
    the check digits, not a reading."""
    if len(line) not in (47, 48) or not line.isdigit() or digitable_line_valid(line):
        return None
    fits = {
        fixed
        for i, printed in enumerate(line)
        for digit in "0123456789"
        if digit != printed
        and digitable_line_valid(fixed := line[:i] + digit + line[i + 1 :])
        and (agrees is None or agrees(fixed))
    }
    return fits.pop() if len(fits) == 1 else None


_E2E_SHAPE = re.compile(r"E\d{20}[A-Za-z0-9]{11}")


def e2e_date(value: str) -> datetime | None:
    """The date-time embedded in a PIX end-to-end id, or ``None`` if not a real one."""
    try:
        return datetime.strptime(value[9:21], "%Y%m%d%H%M")
    except ValueError:
        return None


def e2e_valid(value: str) -> bool:
    """Whether a PIX end-to-end id has its shape (``E`` + 8-digit ISPB +
    ``yyyyMMddHHmm`` + 11 alphanumerics, 32 characters) and a real embedded date."""
    return bool(_E2E_SHAPE.fullmatch(value)) and e2e_date(value) is not None


#: Where an id's ISPB (the payer institution's code) starts, and its length.
ISPB_AT = 1
ISPB_DIGITS = 8


@cache
def known_ispbs() -> frozenset[str]:
    """The ISPBs of the institutions Banco Central do Brasil lists
    (``ispb.txt``, lines starting ``#`` are comments): worker-ocr's id
    decoder settles an id's ISPB among them, worker-docs' PIX extractor
    trusts an id less outside them."""
    text = (resources.files(__package__) / "ispb.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip()[:1].isdigit())


def e2e_ispb_known(value: str) -> bool:
    """Whether the PIX end-to-end id ``value``'s ISPB is a listed institution's."""
    return value[ISPB_AT : ISPB_AT + ISPB_DIGITS] in known_ispbs()


def repair_e2e(raw: str) -> str | None:
    """A 32-character id read by OCR, with look-alikes fixed where the shape
    requires a digit (``O`` → ``0``, ``l`` → ``1``, ``e`` → ``E`` ...); ``None``
    when no repair gives the shape."""
    if len(raw) != 32:
        return None
    head = "E" if raw[0] in "Ee€" else raw[0]
    digits = raw[1:21].translate(DIGIT_LOOKALIKES)
    fixed = head + digits + raw[21:]
    return fixed if _E2E_SHAPE.fullmatch(fixed) else None
