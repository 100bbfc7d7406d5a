"""The keyword list's part that needs no vector, found while the query is
embedded.

A hybrid search's keyword list scores the chunks its rarer words select
and the semantic list's chunks that match. The first part, the words'
counts and the selected chunks' terms, is most of the list's work and
needs no vector: :func:`find_terms` runs it (:func:`~folio_api.domain.search.keyword_sql.early_sql`)
in the search's transaction while a worker embeds the query, and
:func:`~folio_api.domain.search.repository.search` binds its answer into
the search statement, which adds the semantic list's matching chunks and
scores them all as the statement that finds everything itself does (the
same hits and scores). The transaction must be one snapshot
(:func:`~folio_api.domain.search.preparing.begin_snapshot`), so that both
statements read the same chunks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.filtering import bound
from folio_api.domain.search.keyword_sql import TERM_COLUMNS, early_sql
from folio_api.domain.search.keywords import KeywordQuery


@dataclass(frozen=True, slots=True)
class TermsKey:
    """What the terms were found for; the search uses them only for the
    same (otherwise it finds them itself)."""

    tenant_id: uuid.UUID
    keywords: KeywordQuery
    lexemes: tuple[str, ...]
    where: str
    params: Mapping[str, object]
    max_matches: int


@dataclass(frozen=True, slots=True)
class KeywordTerms:
    """The early statement's answer: each query lexeme and how many
    chunks hold it (no further than ``max_matches + 1``), and the terms
    of the chunks the rarer ones select: column -> array
    (:data:`~folio_api.domain.search.keyword_sql.TERM_COLUMNS`)."""

    key: TermsKey
    held_lexemes: Sequence[str]
    held_chunks: Sequence[int]
    terms: Mapping[str, Sequence[Any]]

    def params(self) -> dict[str, object]:
        """The values the search statement binds them as."""
        return {
            "held_lexemes": self.held_lexemes,
            "held_chunks": self.held_chunks,
            **{f"term_{name}": values for name, values in self.terms.items()},
        }


def keyword_params(key: TermsKey, expansion_weight: float | None = None) -> dict[str, object]:
    """The values the keyword list binds for ``key``: its words, the
    filters', the lexemes (``:lexeme_<i>``)."""
    keywords = key.keywords
    return {
        "tenant_id": key.tenant_id,
        "wanted": keywords.wanted,
        "words": keywords.words,
        "original": keywords.original,
        "excluded": keywords.excluded,
        "expansion_weight": expansion_weight,
        "max_matches": key.max_matches,
        **key.params,
        **{f"lexeme_{i}": lexeme for i, lexeme in enumerate(key.lexemes)},
    }


async def find_terms(session: AsyncSession, key: TermsKey) -> KeywordTerms:
    """The counts and the selected chunks' terms for ``key``, in
    ``session``'s transaction."""
    sql = early_sql(bool(key.keywords.excluded), key.where, len(key.lexemes))
    stmt, values = bound(sql, keyword_params(key))
    row = (await session.execute(stmt, values)).one()
    lexemes, chunks, *columns = row
    terms = {name: column or [] for name, column in zip(TERM_COLUMNS, columns, strict=True)}
    return KeywordTerms(key, lexemes or [], chunks or [], terms)
