# ruff: noqa: S608
"""The language of a query of unknown language, read from the tenant's
chunks its words match.

:func:`~folio_shared.language.detect_query_language` knows a query's
language from its function words or a Portuguese letter. Keywords typed
into a search box often have neither (``boleto vencido juros``), and such
a query is of unknown language. Under ``by-language`` the language picks
the model that embeds the query and the chunks its vector is compared
with (:func:`~folio_api.domain.search.fusion.preferred`), and hybrid's
semantic weight: in a tenant holding documents of both languages an
unknown one was embedded by all-MiniLM-L6-v2 and compared with the
English chunks only, so a Portuguese query of keywords could find its
document by keywords alone.

In a tenant holding chunks of more than one language, such a query now
takes the language whose chunks hold more of its words, each word stemmed
as that language's chunks are (:data:`~folio_shared.db.models.CHUNK_LANGUAGES`,
accents folded): the lexemes keyword search matches. ``boleto vencido
juros`` is Portuguese where the tenant's Portuguese documents speak of
boletos and its English ones do not. A tie (no word matched, or as many
in each language) leaves the language unknown, as before. In a tenant
whose chunks are of one of those languages only, the query takes that
language without looking its words up: it is compared with those chunks
anyway, and hybrid weighs them as that language's (Portuguese: 0.95, not
the 0.9 of an unknown language).

Asked in the statement that prepares the search
(:func:`~folio_api.domain.search.preparing.prepare`, :func:`with_matched`):
for each lexeme, the languages of the first :data:`SAMPLE` chunks of the
tenant that hold it, through the text index. A word counts for a language
when one of those chunks is of it, so a word the tenant's chunks of one
language hold thousands of times costs a few rows, not a read of every
chunk that holds it to find one of the other language (measured: p50 3.8
→ 28.3 ms over 100,000 chunks unbounded; ``docs/adr/0007-search-ranking.md``).

Only fixed fragments are joined here (configuration names, language
codes, parameter names); the words travel as bound values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from folio_api.domain.search.keyword_sql import LEXEME_LITERAL
from folio_shared.db.models import CHUNK_LANGUAGES

#: The most of the tenant's chunks holding a word whose languages are read.
SAMPLE = 16


def _matched(code: str, config: str) -> str:
    """SQL: how many of ``:words``' lexemes in ``config`` one of the first
    :data:`SAMPLE` chunks of the tenant holding it, of language ``code``,
    holds (the look-up stops at the first such chunk)."""
    lexeme = LEXEME_LITERAL.format("w.lexeme")
    return (
        f"(SELECT count(*) FROM unnest(tsvector_to_array(to_tsvector('{config}', "
        "CAST(:words AS text)))) AS w(lexeme) WHERE EXISTS (SELECT 1 FROM (SELECT c.language "
        f"FROM chunks c WHERE c.tenant_id = :tenant_id AND c.tsv @@ CAST({lexeme} AS tsquery) "
        f"LIMIT {SAMPLE}) AS s WHERE s.language = '{code}'))"
    )


#: SQL: per language of :data:`~folio_shared.db.models.CHUNK_LANGUAGES`, in
#: its order, how many of the query's lexemes in that language's
#: configuration one of the first :data:`SAMPLE` chunks of the tenant
#: holding it, of that language, holds (an array).
MATCHED_SQL = "ARRAY[" + ", ".join(_matched(*pair) for pair in CHUNK_LANGUAGES.items()) + "]"


def with_matched(sql: str) -> str:
    """``sql`` (:data:`~folio_api.domain.search.statements.HELD_AND_MODELS_SQL`:
    one row whose third column is the languages of the tenant's chunks)
    with :data:`MATCHED_SQL` as its last column, asked only when the
    tenant holds chunks of more than one of those languages (else ``NULL``)."""
    languages = ", ".join(f"'{code}'" for code in CHUNK_LANGUAGES)
    several = f"(SELECT count(DISTINCT x) FROM unnest(h.languages) x WHERE x IN ({languages})) > 1"
    return (
        f"SELECT h.*, CASE WHEN {several} THEN {MATCHED_SQL} END "
        f"FROM ({sql}) AS h(chunks, lexemes, languages, versions)"
    )


def decide(matched: Mapping[str, int]) -> str | None:
    """The language of ``matched`` (language -> words found) with the
    most, ``None`` on a tie or when none is found."""
    counts = sorted(((n, code) for code, n in matched.items()), reverse=True)
    if not counts or counts[0][0] == 0 or (len(counts) > 1 and counts[1][0] == counts[0][0]):
        return None
    return counts[0][1]


def words_language(matched: Sequence[int] | None, held: Sequence[str]) -> str | None:
    """:func:`decide` over :data:`MATCHED_SQL`'s counts; ``None`` (not
    asked: the tenant's chunks, of languages ``held``, are of at most one
    of :data:`~folio_shared.db.models.CHUNK_LANGUAGES`): that one language,
    if any."""
    if matched is None:
        languages = set(held) & set(CHUNK_LANGUAGES)
        return languages.pop() if len(languages) == 1 else None
    return decide(dict(zip(CHUNK_LANGUAGES, matched, strict=True)))
