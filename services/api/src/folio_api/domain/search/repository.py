"""Tenant-scoped search over chunks: semantic, keyword or hybrid, by
document or by chunk.

- ``semantic``: the ``candidates`` chunks nearest the query vector by
  cosine distance (pgvector HNSW index ``ix_chunks_embedding_hnsw``);
  a chunk's value is ``1 - distance``, a document's its best chunk's
  (with its centroid for multilingual-e5-small's documents:
  :mod:`~folio_api.domain.search.semantic`).
  With a vector per model (``query_vectors``, a ``by-language``
  deployment: :mod:`folio_shared.embedding_models`), the list of one
  model over that model's chunks only: :func:`prepare` picks it
  (:func:`~folio_api.domain.search.fusion.query_model`).
- ``keyword``: chunks holding any of the query's words
  (:mod:`~folio_api.domain.search.keywords`: OR, phrases, exclusions,
  accents folded), each parsed in the chunk's language (stemming and stop
  words, :data:`~folio_shared.db.models.CHUNK_LANGUAGES`), ranked by BM25:
  ``Σ idf · tf (k1 + 1) / (tf + k1 (1 - b + b · len / avg_len))`` over the
  query's lexemes, with ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` among
  the tenant's chunks. A document is scored the same way as a whole: its
  matching chunks' term counts summed, its length all its chunks', ``N``
  and ``df`` counted in documents, so a long document is judged by all it
  says, not chunk by chunk.
- ``hybrid`` (default): a convex combination of both, at both levels:
  ``w · semantic' + (1 - w) · keyword'`` where ``semantic'`` is min-max
  normalised over the candidates and ``keyword'`` is BM25 over its best
  (0 for what a list does not hold), ``w`` by the query's language and the
  embedding model (:mod:`~folio_api.domain.search.fusion`).
  ``docs/adr/0007-search-ranking.md``
  tells why this and not reciprocal rank fusion (measured on Folio's
  relevance sets).

``group``: ``document`` (default) returns each document once, ordered by
``document_score``, with its best chunk (highest fused chunk score);
``chunk`` returns chunks ordered by their own fused score. Hits carry the
chunk's text, its offsets and pages, the document's metadata, and a
snippet: the best fragment with the query's words in ``<mark>…</mark>``,
the rest HTML-escaped. Chunks of deleted documents are never returned.

The HNSW index holds every tenant's chunks and pgvector (0.6 here, no
iterative scans) applies the tenant filter after the index scan: a tenant
holding a small share of the chunks would get only the few of its chunks
among the ``ef_search`` nearest of all. So a tenant with at most
``exact_max_chunks`` chunks (counted, no further than that, with the
``ef_search`` setting) is searched exactly: its chunks read through the
tenant index, each compared with the query, the nearest kept; its results
are the same whatever the other tenants hold. Larger tenants use the
index, ``ef_search = max(40, candidates)`` deep (``SET LOCAL``, this
transaction only).
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.filtering import SearchFilters as SearchFilters
from folio_api.domain.search.filtering import bound, scope
from folio_api.domain.search.fusion import DEFAULT_SEMANTIC_WEIGHT, language_weights, preferred
from folio_api.domain.search.keyword_terms import KeywordTerms, TermsKey, find_terms, keyword_params
from folio_api.domain.search.keywords import KeywordQuery, parse_keywords
from folio_api.domain.search.preparing import PLANS, Prepared, prepare
from folio_api.domain.search.semantic import CENTROID_WEIGHTS
from folio_api.domain.search.statements import PLANS_SQL, statement
from folio_shared.db.models import EMBEDDING_DIMENSIONS, text_search_config_sql
from folio_shared.embedding_models import DEFAULT_MODEL
from folio_shared.errors import InvalidInput
from folio_shared.language import detect_query_language

_MARK_START = "\x02"
_MARK_END = "\x03"
_HEADLINE_OPTIONS = (
    f'StartSel="{_MARK_START}", StopSel="{_MARK_END}", '
    'MaxWords=35, MinWords=15, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "'
)


class SearchMode(StrEnum):
    SEMANTIC = "semantic"
    KEYWORD = "keyword"
    HYBRID = "hybrid"


class Fusion(StrEnum):
    """How hybrid combines its lists: ``convex`` (normalised scores) or
    ``rrf`` (weighted reciprocal ranks)."""

    CONVEX = "convex"
    RRF = "rrf"


class SearchGroup(StrEnum):
    """``document``: one hit per document (its best chunk); ``chunk``:
    every chunk on its own."""

    DOCUMENT = "document"
    CHUNK = "chunk"


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """Tuning of :func:`search`.

    ``candidates`` (default ``100`` chunks): length of the semantic list.
    ``fusion`` (default ``convex``): how hybrid combines the lists, see
    :class:`Fusion`. ``semantic_weight`` (default ``0.9``): the semantic
    list's weight ``w`` in hybrid, the keyword list's is ``1 - w`` (measured
    in the ADR), for a query whose language is unknown or not in
    ``language_weights`` (default: the default model's,
    :mod:`~folio_api.domain.search.fusion`), which maps a query language to
    its own ``w``. ``rrf_k`` (default ``60``): the rank damping of ``rrf``,
    whose score is ``w · k / (k + rank_s) + (1 - w) · k / (k + rank_k)``. ``k1`` (default
    ``1.2``) and ``b`` (default ``0.75``): BM25's term-frequency saturation
    and length normalisation of a chunk. ``document_k1`` (default ``2.0``)
    and ``document_b`` (default ``0.3``): the same of a document scored as
    a whole, its term counts summed over its chunks and its length all of
    them: a long document is long because it covers more (a manual against
    a receipt), not because it repeats itself, so its length is discounted
    less and its summed counts saturate later
    (``docs/adr/0007-search-ranking.md``). ``keyword_max_matches`` (default ``500``
    chunks): a word held by more of the tenant's chunks is too common to
    choose which chunks keyword ranking scores (it still counts in their
    scores): the chunks scored are those holding a rarer query word and
    the semantic list's that match (keyword search alone: the
    ``keyword_max_matches`` that ``ts_rank`` ranks highest when every word
    is that common), see :mod:`~folio_api.domain.search.statements`.
    ``exact_max_chunks`` (default ``5000``
    chunks): a tenant holding at most this many chunks is searched
    exactly, every chunk compared with the query, instead of through the
    HNSW index (see the module docstring). ``centroid_weights`` (default
    :data:`~folio_api.domain.search.semantic.CENTROID_WEIGHTS`): model ->
    ``β``, a document's semantic score under that model is ``(best chunk +
    β · centroid) / (1 + β)`` (:mod:`~folio_api.domain.search.semantic`;
    with ``query_vectors``, one vector per model, only).
    ``language_by_words`` (default ``True``): with a vector per model, a
    query of unknown language takes the language of the tenant's chunks
    that hold the most of its words (the tenant's one language, when it
    holds one), which picks its model's list and its
    weight (:mod:`~folio_api.domain.search.wording`; ``False``: it stays
    unknown).
    ``expansion_weight`` (default ``0.5``): the share of its BM25 term a
    lexeme held only by the caller's ``expansions`` (:func:`search`) counts
    for, so the query's own words weigh more than the words added to them.
    """

    candidates: int = 100
    fusion: Fusion = Fusion.CONVEX
    semantic_weight: float = DEFAULT_SEMANTIC_WEIGHT
    language_weights: Mapping[str, float] = field(
        default_factory=lambda: language_weights(DEFAULT_MODEL)
    )
    rrf_k: int = 60
    k1: float = 1.2
    b: float = 0.75
    document_k1: float = 2.0
    document_b: float = 0.3
    keyword_max_matches: int = 500
    exact_max_chunks: int = 5_000
    centroid_weights: Mapping[str, float] = field(default_factory=lambda: CENTROID_WEIGHTS)
    language_by_words: bool = True
    expansion_weight: float = 0.5


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One result. ``score``: the chunk's fused score; ``document_score``:
    its document's (both higher is better, 0-1). ``semantic_rank`` /
    ``keyword_rank``: the chunk's rank (from 1) in each list, ``None`` when
    it is not in that list. ``text``: the whole chunk; ``char_start`` /
    ``char_end``: its offsets in the document text. ``snippet``: HTML-safe
    text with the matches in ``<mark>``. ``language``: the document's
    detected language (``None`` when unknown). ``metadata``: the
    document's."""

    chunk_id: uuid.UUID
    document_id: uuid.UUID
    filename: str
    kind: str | None
    metadata: dict[str, Any]
    chunk_index: int
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    text: str
    language: str | None
    snippet: str
    score: float
    document_score: float
    semantic_rank: int | None
    keyword_rank: int | None


def _snippet(raw: str) -> str:
    escaped = html.escape(raw, quote=False)
    return escaped.replace(_MARK_START, "<mark>").replace(_MARK_END, "</mark>")


def _vector_text(mode: SearchMode, query_vector: Sequence[float] | None) -> str:
    if query_vector is None or len(query_vector) != EMBEDDING_DIMENSIONS:
        raise InvalidInput(
            f"{mode} search needs a query vector of {EMBEDDING_DIMENSIONS} dimensions"
        )
    return "[" + ",".join(repr(float(x)) for x in query_vector) + "]"


def _weight(mode: SearchMode, options: SearchOptions, language: str | None) -> float:
    if mode is SearchMode.SEMANTIC:
        return 1.0
    if mode is SearchMode.KEYWORD:
        return 0.0
    return options.language_weights.get(language or "", options.semantic_weight)


def _terms_key(
    tenant_id: uuid.UUID,
    keywords: KeywordQuery,
    lexemes: Sequence[str],
    filters: SearchFilters,
    options: SearchOptions,
    k: int,
) -> TermsKey:
    where = scope(filters)
    max_matches = max(options.keyword_max_matches, k)
    return TermsKey(tenant_id, keywords, tuple(lexemes), where.where, where.params, max_matches)


async def keyword_terms(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    query_text: str,
    prepared: Prepared,
    k: int = 10,
    filters: SearchFilters | None = None,
    options: SearchOptions | None = None,
    expansions: Sequence[str] = (),
) -> KeywordTerms | None:
    """The keyword list's part that needs no vector
    (:mod:`~folio_api.domain.search.keyword_terms`), for a hybrid
    :func:`search` in this transaction with the same arguments and
    ``prepared`` (:func:`prepare`'s answer for ``query_text``'s
    words); ``None`` when the query has no word to look for. The
    transaction must be one snapshot."""
    keywords = parse_keywords(query_text, expansions)
    if not keywords.wanted:
        return None
    opts, filt = options or SearchOptions(), filters or SearchFilters()
    return await find_terms(
        session, _terms_key(tenant_id, keywords, prepared.lexemes, filt, opts, k)
    )


async def search(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    query_vector: Sequence[float] | None,
    query_text: str,
    k: int = 10,
    mode: SearchMode | str = SearchMode.HYBRID,
    group: SearchGroup | str = SearchGroup.DOCUMENT,
    filters: SearchFilters | None = None,
    options: SearchOptions | None = None,
    query_vectors: Mapping[str, Sequence[float]] | None = None,
    prepared: Prepared | None = None,
    expansions: Sequence[str] = (),
    keyword_terms: KeywordTerms | None = None,
) -> list[SearchHit]:
    """The ``k`` best hits of ``tenant_id`` for the query (see the module
    docstring). ``query_vector`` (unit length, the embedding of
    ``query_text``) is required unless ``mode`` is ``keyword``, or instead
    ``query_vectors``: model name -> the query's vector by that model, each
    compared only with that model's chunks, one semantic list per model.
    ``prepared``: :func:`prepare`'s answer, already asked in this
    transaction (otherwise search asks it). ``expansions``: words added
    to the query's keywords, each optional like them (a chunk holding only
    an expansion matches), weighed ``expansion_weight`` of a query word
    (words a document may use for the query's: another part of the
    application chooses them; none by default). ``keyword_terms``: the
    keyword list's vector-free part, found earlier in this transaction by
    :func:`keyword_terms` with the same arguments and ``prepared``
    (otherwise, or for other arguments, the statement finds it itself;
    the hits are the same).

    Raises :class:`~folio_shared.errors.InvalidInput` for a bad ``mode``,
    ``group``, ``k`` or vector.
    """
    try:
        mode = SearchMode(mode)
        group = SearchGroup(group)
    except ValueError as e:
        raise InvalidInput(f"unknown search mode or grouping: {e}") from e
    if not 1 <= k <= 1000:
        raise InvalidInput(f"k must be between 1 and 1000, not {k}", k=k)
    opts = options or SearchOptions()
    filt = filters or SearchFilters()
    vector_text: str | None = None
    exact = False
    language = detect_query_language(query_text)
    models = preferred(list(query_vectors or {}), language)
    model_params: dict[str, object] = {}
    keywords = parse_keywords(query_text, expansions)
    if mode is not SearchMode.KEYWORD:
        if prepared is None or prepared.words != keywords.words:
            by_words = language is None and len(models) > 1 and opts.language_by_words
            prepared = await prepare(
                session, tenant_id, opts, models if by_words else (), keywords.words,
                by_words=by_words,
            )  # fmt: skip
        if language is None and prepared.language is not None:
            language = prepared.language
            models = preferred(models, language)
        if query_vectors:
            for i, model in enumerate(models):
                model_params[f"query_vector_{i}"] = _vector_text(mode, query_vectors[model])
        else:
            vector_text = _vector_text(mode, query_vector)
        exact, lexemes = prepared.exact, prepared.lexemes
    else:
        row = await session.execute(sa.text(PLANS_SQL), {"plans": PLANS, "words": keywords.words})
        lexemes = tuple(row.one()[0])
    keyword = mode is not SearchMode.SEMANTIC and bool(keywords.wanted)
    key = _terms_key(tenant_id, keywords, lexemes, filt, opts, k)
    given = keyword and keyword_terms is not None and keyword_terms.key == key
    sql = statement(
        semantic=mode is not SearchMode.KEYWORD,
        exact=exact,
        models=models,
        keyword=keyword,
        by_document=group is SearchGroup.DOCUMENT,
        excluding=bool(keywords.excluded),
        where=key.where,
        headline_config=text_search_config_sql("c.language"),
        words=len(lexemes),
        centroid_weights=opts.centroid_weights,
        expanded=keywords.original != keywords.words,
        given=given,
    )
    params: dict[str, object] = {
        **keyword_params(key, opts.expansion_weight),
        "query_vector": vector_text,
        "candidates": max(opts.candidates, k),
        "w_semantic": _weight(mode, opts, language),
        "fusion": str(opts.fusion),
        "rrf_k": float(opts.rrf_k),
        "k1": opts.k1,
        "b": opts.b,
        "document_k1": opts.document_k1,
        "document_b": opts.document_b,
        "k": k,
        "headline_options": _HEADLINE_OPTIONS,
        **model_params,
        **{f"centroid_weight_{i}": opts.centroid_weights.get(m, 0.0) for i, m in enumerate(models)},
        **(keyword_terms.params() if given and keyword_terms is not None else {}),
    }
    stmt, used = bound(sql, params)
    result = await session.execute(stmt, used)
    return [
        SearchHit(
            chunk_id=row.id,
            document_id=row.document_id,
            filename=row.filename,
            kind=row.kind,
            metadata=dict(row.metadata or {}),
            chunk_index=row.chunk_index,
            page_start=row.page_start,
            page_end=row.page_end,
            char_start=row.char_start,
            char_end=row.char_end,
            text=row.text,
            language=row.language,
            snippet=_snippet(row.snippet or ""),
            score=float(row.score or 0.0),
            document_score=float(row.document_score or 0.0),
            semantic_rank=row.semantic_rank,
            keyword_rank=row.keyword_rank,
        )
        for row in result
    ]
