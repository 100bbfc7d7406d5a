"""When two printed names are the same party, as a person checking a payee
would judge it.

Receipts print one company in many ways: ``Nu Pagamentos S.A. - Instituição
de Pagamento``, ``NU PAGAMENTOS - IP``, ``Nu Pagamentos SA``. :func:`name_key`
reduces a name to what identifies the party: accents and case folded,
punctuation and spacing ignored, ``Bco`` read as ``Banco``, and legal
qualifiers that end the name dropped (``S.A.``, ``S/A``, ``Ltda``, ``Limitada``, ``ME``,
``EPP``, ``Eireli``, ``IP``, ``Instituição de Pagamento``, ``Sociedade
Anônima``). The words that remain, in order, must agree: ``Padaria Pão
Quente`` is not ``Padaria Pão``.
"""

from __future__ import annotations

import re

from folio_shared.months import fold

#: Phrases that qualify a company's legal form, wherever they stand.
_QUALIFIER_PHRASES = re.compile(
    r"(?<![a-z0-9])(?:instituicao de pagamento|sociedade anonima|sociedade limitada|"
    r"empresa individual de responsabilidade limitada|microempresa)(?![a-z0-9])"
)
#: Words that qualify a company's legal form at the end of its name (after
#: dots and slashes are taken out: ``S.A.`` and ``S/A`` are ``sa``).
_QUALIFIER_WORDS = frozenset({"sa", "ltda", "limitada", "me", "epp", "eireli", "ip", "mei"})
#: Abbreviations banks print for a word of their name.
_ABBREVIATIONS = {"bco": "banco", "cia": "companhia", "coop": "cooperativa"}


def name_key(name: str) -> tuple[str, ...]:
    """The words that identify the party ``name`` stands for (see the module)."""
    text = _QUALIFIER_PHRASES.sub(" ", fold(name))
    text = re.sub(r"(?<=[a-z0-9])[./](?=[a-z0-9])", "", text)
    words = re.findall(r"[a-z0-9]+", text)
    words = [_ABBREVIATIONS.get(w, w) for w in words]
    kept = list(words)
    # qualifiers end a name (``Casa Me Leva Ltda`` keeps its ``me``); a name
    # made only of them keeps its first word
    while len(kept) > 1 and kept[-1] in _QUALIFIER_WORDS:
        kept.pop()
    return tuple(kept)


def same_name(expected: str, found: str) -> bool:
    """Whether ``expected`` and ``found`` name the same party (see :func:`name_key`)."""
    key = name_key(expected)
    return bool(key) and key == name_key(found)
