"""A generated corpus of Brazilian payment documents and non-payment ones.

Each :class:`Doc` is a list of lines (a tab separates columns drawn side by
side) with the fields a reader would take from it. Layouts imitate different
banks and apps: label wordings, order, sections or flat labels, columns,
spelled dates, masked CPFs, tariffs beside the amount, wrapped ids. The
check digits are computed here, independently of the code under test.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MONTHS = ["jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"]
FULL_MONTHS = [
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
]
FIRST = [
    "Ana",
    "João",
    "Maria",
    "José",
    "Luíza",
    "Carlos",
    "Fernanda",
    "Paulo",
    "Beatriz",
    "Rafael",
    "Juliana",
    "Marcos",
    "Patrícia",
    "Gustavo",
    "Camila",
    "Rodrigo",
]
LAST = [
    "Silva",
    "Souza",
    "Oliveira",
    "Santos",
    "Pereira",
    "Lima",
    "Carvalho",
    "Ferreira",
    "Rodrigues",
    "Almeida",
    "Costa",
    "Gomes",
    "Ribeiro",
    "Martins",
    "Araújo",
]
COMPANIES = [
    "Padaria Pão Quente Ltda",
    "Mercado Bom Preço S.A.",
    "Clínica Sorriso Ltda",
    "Auto Peças Rodovia Eireli",
    "Escola Aprender Mais Ltda",
    "Construtora Alicerce S.A.",
    "Farmácia Saúde Total Ltda",
    "Oficina do Zé Ltda",
    "Livraria Página Nova Ltda",
    "Distribuidora Sol Nascente S.A.",
]
BANKS = [
    "Nu Pagamentos S.A.",
    "Itaú Unibanco S.A.",
    "Banco do Brasil S.A.",
    "Caixa Econômica Federal",
    "Banco Inter S.A.",
    "Banco Bradesco S.A.",
    "Mercado Pago",
    "PicPay Serviços S.A.",
]
ISPBS = ["18236120", "60701190", "00000000", "00360305", "00416968", "60746948", "10573521"]


def _mod11(digits: str, top: int = 9) -> int:
    total, w = 0, 2
    for ch in reversed(digits):
        total += int(ch) * w
        w = 2 if w == top else w + 1
    return total % 11


def _mod10(digits: str) -> int:
    total, f = 0, 2
    for ch in reversed(digits):
        p = int(ch) * f
        total += p // 10 + p % 10
        f = 3 - f
    return (10 - total % 10) % 10


def cpf(rng: random.Random) -> str:
    base = [rng.randint(0, 9) for _ in range(9)]
    for size in (9, 10):
        s = sum(d * w for d, w in zip(base, range(size + 1, 1, -1), strict=False))
        base.append(s * 10 % 11 % 10)
    return "".join(map(str, base))


def cnpj(rng: random.Random) -> str:
    base = "".join(str(rng.randint(0, 9)) for _ in range(8)) + "0001"
    for _ in range(2):
        r = _mod11(base)
        base += str(0 if r < 2 else 11 - r)
    return base


def fmt_cpf(d: str) -> str:
    return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"


def fmt_cnpj(d: str) -> str:
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"


def money(cents: int) -> str:
    whole, frac = divmod(cents, 100)
    return f"{whole:,}".replace(",", ".") + f",{frac:02d}"


#: How end-to-end ids' 11-character tails are drawn: ``False``, letters of
#: both cases and digits at random; ``True`` (:func:`single_case_tails`),
#: the same draws in one case per id, as many banks print them (Nubank-style
#: ``...s1533b0af6b``, Itau-style ``...DY5D8XDW2VB``).
_SINGLE_CASE = [False]


@contextmanager
def single_case_tails() -> Iterator[None]:
    """Within it, :func:`e2e` draws one-case tails: lower case on odd
    minutes, upper case on even ones (the same random draws, so every other
    value of a document is the same as without)."""
    _SINGLE_CASE[0] = True
    try:
        yield
    finally:
        _SINGLE_CASE[0] = False


def e2e(rng: random.Random, when: datetime) -> str:
    tail = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(11))
    if _SINGLE_CASE[0]:
        tail = tail.lower() if when.minute % 2 else tail.upper()
    return "E" + rng.choice(ISPBS) + (when + timedelta(hours=3)).strftime("%Y%m%d%H%M") + tail


def boleto_line(rng: random.Random, cents: int, due: datetime) -> str:
    """A valid 47-digit bank line (factor from the 2025 restart at 1000)."""
    factor = 1000 + (due - datetime(2025, 2, 22)).days
    free = "".join(str(rng.randint(0, 9)) for _ in range(25))
    bank = rng.choice(["001", "237", "341", "104", "033"]) + "9"
    tail = f"{factor:04d}{cents:010d}"
    body = bank + tail + free
    r = 11 - _mod11(body)
    dv = 1 if r in (0, 10, 11) else r
    f1, f2, f3 = bank + free[:5], free[5:15], free[15:25]
    return f1 + str(_mod10(f1)) + f2 + str(_mod10(f2)) + f3 + str(_mod10(f3)) + str(dv) + tail


def fmt_line(line: str) -> str:
    return (
        f"{line[0:5]}.{line[5:10]} {line[10:15]}.{line[15:21]} {line[21:26]}.{line[26:32]} "
        f"{line[32]} {line[33:]}"
    )


def nfe_key(rng: random.Random, issuer: str, when: datetime, series: int, number: int) -> str:
    body = f"35{when:%y%m}{issuer}55{series:03d}{number:09d}1" + "".join(
        str(rng.randint(0, 9)) for _ in range(8)
    )
    r = _mod11(body)
    return body + str(0 if r < 2 else 11 - r)


@dataclass
class Doc:
    """One generated document: its lines, its expected type and fields."""

    name: str
    kind: str
    lines: list[str]
    truth: dict[str, str] = field(default_factory=dict)
    small: set[int] = field(default_factory=set)  # line indexes printed small and grey
    ruled: set[int] = field(default_factory=set)  # line indexes with a table rule under them
    logo: bool = False  # the first line drawn large, white on a dark box
    right: set[int] = field(default_factory=set)  # line indexes whose last cell is right-aligned

    @property
    def text(self) -> str:
        return "\n".join(line.replace("\t", "      ") for line in self.lines)


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(LAST)}"


def masked(d: str) -> str:
    return f"***.{d[3:6]}.{d[6:9]}-**"
