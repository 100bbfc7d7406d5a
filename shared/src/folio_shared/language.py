"""Which language a document or a query is written in: Portuguese, English or unknown.

Keyword search stems and drops stop words with the document's language
(:data:`folio_shared.db.models.CHUNK_LANGUAGES`), so each document is
classified once, when it is chunked, from its own words: the share of its
words that are frequent function words of each language ("de", "que",
"não", "uma"... against "the", "and", "of", "with"...). Function words make
up a third or more of running text in both languages and almost never
belong to the other, so a few hundred words decide clearly; a text with
too few of either (a table of numbers, a list of names, another language)
is ``None`` and is indexed without stemming.

Search asks the same of a query (:func:`detect_query_language`), to weigh
its semantic and keyword lists by how well the embedding model reads the
query's language. A query is a few words: one function word more of one
language than of the other decides. A query of neither's function words
(keywords typed into a search box: ``férias funcionário``) is Portuguese
when it holds a letter English writes only in borrowed words (``ã``,
``õ``, ``ç``, and the accented vowels ``á é í ó ú â ê ô à``). Such a
borrowed word alone (``café receipt``) reads Portuguese too; with an
English function word (``the café receipt``) the query is English.
``do`` and ``no`` are Portuguese function words and English words too
(``do I need a permit``, ``no signal after update``): a query whose only
Portuguese function words are these is not Portuguese on their count; its
letters decide, else it is of unknown language (search then decides by the
tenant's chunks).

:func:`detect_language` reads at most ``max_words`` words (default
``5,000``) and decides when one language's function words are at least
``min_share`` (default ``0.08``, 8 %) of the words read and ``margin``
(default ``1.5``) times the other's.
"""

from __future__ import annotations

import re
from itertools import islice

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

_PORTUGUESE = frozenset(
    {
        "ao",
        "aos",
        "até",
        "com",
        "como",
        "da",
        "das",
        "de",
        "dela",
        "dele",
        "do",
        "dos",
        "e",
        "é",
        "ela",
        "ele",
        "em",
        "entre",
        "era",
        "essa",
        "esse",
        "está",
        "este",
        "isso",
        "já",
        "mais",
        "mas",
        "na",
        "nas",
        "não",
        "nem",
        "no",
        "nos",
        "o",
        "os",
        "ou",
        "para",
        "pela",
        "pelo",
        "por",
        "quando",
        "que",
        "se",
        "sem",
        "ser",
        "seu",
        "sua",
        "são",
        "também",
        "um",
        "uma",
        "umas",
        "uns",
        "à",
        "às",
        "você",
        "foi",
        "tem",
        "ter",
        "sobre",
        "após",
        "pelas",
        "pelos",
        "deve",
        "cada",
        "onde",
    }
)
_ENGLISH = frozenset(
    {
        "about",
        "an",
        "and",
        "are",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "more",
        "my",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "should",
        "that",
        "the",
        "their",
        "them",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    }
)


def function_words(language: str) -> frozenset[str]:
    """The function words counted for ``language`` (``"pt"`` or ``"en"``;
    none for another)."""
    return {"pt": _PORTUGUESE, "en": _ENGLISH}.get(language, frozenset())


def detect_language(
    text: str, *, max_words: int = 5_000, min_share: float = 0.08, margin: float = 1.5
) -> str | None:
    """``"pt"``, ``"en"`` or ``None`` (see the module docstring)."""
    words = [m.group(0).lower() for m in islice(_WORD.finditer(text), max_words)]
    if not words:
        return None
    pt = sum(w in _PORTUGUESE for w in words) / len(words)
    en = sum(w in _ENGLISH for w in words) / len(words)
    if pt >= min_share and pt >= margin * en:
        return "pt"
    if en >= min_share and en >= margin * pt:
        return "en"
    return None


#: Portuguese function words that are common English words as well.
_SHARED_WITH_ENGLISH = frozenset({"do", "no"})

#: Letters of Portuguese words that English writes only in borrowed ones.
_PORTUGUESE_LETTERS = frozenset("ãõçáéíóúâêôà")


def detect_query_language(text: str) -> str | None:
    """``"pt"``, ``"en"`` or ``None`` for a search query (see the module
    docstring)."""
    words = [m.group(0).lower() for m in _WORD.finditer(text)]
    pt = sum(w in _PORTUGUESE for w in words)
    en = sum(w in _ENGLISH for w in words)
    if pt and all(w in _SHARED_WITH_ENGLISH for w in words if w in _PORTUGUESE):
        pt = 0  # "do" or "no" alone: as likely English
    if pt > en:
        return "pt"
    if en > pt:
        return "en"
    if en == 0 and _PORTUGUESE_LETTERS & set(text.lower()):
        return "pt"
    return None
