"""A search query read as keywords: what to look for and what to exclude.

Keyword search takes the query the way a person types it into a search
box (web-search syntax): words, ``"quoted phrases"``, ``-word`` or
``-"a phrase"`` to exclude. A dash apart from a word (``- gato``,
``"São Paulo - SP"``) is punctuation, as in a web search engine: it
excludes nothing and is no part of a phrase. Every word or phrase is *optional*: a chunk
matches when it holds any of them (OR), and the ranking
(:mod:`folio_api.domain.search.repository`) rewards chunks and documents
that hold more of them and rarer ones, so a question in other words than
the document's still finds it by the words they share. Excluded words and
phrases remove every chunk that holds them. ``or`` between words is
accepted and means what a space means.

Words added to the query (``expansions``: words a document may use for
the query's) are wanted like the query's own, an added phrase as a
phrase, and weigh less in the ranking.

Accents are folded on both sides (``informação`` and ``informacao``
match): :data:`~folio_shared.db.models.ACCENTED` letters become their
:data:`~folio_shared.db.models.UNACCENTED` counterparts before stemming.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from folio_shared.db.models import ACCENTED, UNACCENTED

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_FOLD = str.maketrans(ACCENTED, UNACCENTED)


def fold_accents(text: str) -> str:
    """``text`` with accented letters replaced as the index does."""
    return text.translate(_FOLD)


@dataclass(frozen=True, slots=True)
class KeywordQuery:
    """The parts of a query, accents folded.

    ``wanted``: web-search text whose parts are joined by ``or`` (words
    and quoted phrases). ``words``: the wanted words, unquoted (their
    lexemes weigh the ranking). ``excluded``: web-search text of the
    excluded words and phrases joined by ``or``, ``""`` when none.
    ``original``: ``words`` without the words added to the query (the
    expansions of :func:`parse_keywords`), equal to ``words`` when none
    were: their lexemes weigh fully, the added ones' less
    (:data:`~folio_api.domain.search.statements.EXPANSION_WEIGHT`).
    """

    wanted: str
    words: str
    excluded: str
    original: str = ""


def _joined(parts: Iterable[str]) -> str:
    """``parts`` joined by one space, a lone ``-`` (or ``--``) left out:
    a dash apart from a word is punctuation, as in a web search engine
    (``"São Paulo - SP"`` is the phrase ``São Paulo SP``)."""
    return " ".join(p for p in parts if p.strip("-"))


def parse_keywords(query: str, expansions: Sequence[str] = ()) -> KeywordQuery:
    """Split ``query`` (see the module docstring); ``expansions``: words
    added to what is wanted, optional like the others, weighed less."""
    wanted: list[str] = []
    words: list[str] = []
    excluded: list[str] = []
    for match in _TOKEN.finditer(fold_accents(query)):
        phrase_minus, phrase, word_minus, word = match.groups()
        if phrase is not None:
            text = _joined(phrase.split())
            if not text:
                continue
            (excluded if phrase_minus else wanted).append(f'"{text}"')
            if not phrase_minus:
                words.append(text)
        elif word.lower() == "or" or not word.strip("-"):
            continue
        elif word_minus:
            # the statement negates the excluded text: a dash left on the
            # word (``--gato``) would negate it back into a wanted one
            excluded.append(word.lstrip("-"))
        else:
            wanted.append(word)
            words.append(word)
    original = " ".join(words)
    # an added word is never an exclusion, a quote or ``or``
    cleaned = (
        _joined(w.lstrip("-") for w in fold_accents(e).replace('"', " ").split())
        for e in expansions
    )
    extra = [w for w in cleaned if w and w.lower() != "or"]
    wanted += [w for w in extra if " " not in w]
    wanted += [f'"{w}"' for w in extra if " " in w]
    return KeywordQuery(
        " or ".join(wanted), " ".join([*words, *extra]), " or ".join(excluded), original
    )
