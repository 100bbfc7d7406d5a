"""The words of a tenant's vocabulary, as worker-docs collects them from
documents and the API finds them in a query: runs of three letters or more
(no digits), lower case, without the function words of the text's language
(:func:`folio_shared.language.function_words`). Accents are kept: each word
is embedded as written, and keyword search folds accents itself.
"""

from __future__ import annotations

import re

from folio_shared.language import function_words

#: A word: three letters or more, no digit or underscore.
WORD = re.compile(r"[^\W\d_]{3,}")
#: The longest word kept (longer runs are ids or noise, not words).
MAX_WORD_CHARS = 40
#: Words of the tenant's vocabulary added to a keyword query (measured:
#: ``docs/adr/0007-search-ranking.md``).
EXPANSION_WORDS = 8


def words_of(text: str, language: str | None) -> list[str]:
    """``text``'s words in order, repeats kept (see the module docstring)."""
    stop = function_words(language or "")
    found = (m.group(0).lower() for m in WORD.finditer(text))
    return [w for w in found if w not in stop and len(w) <= MAX_WORD_CHARS]
