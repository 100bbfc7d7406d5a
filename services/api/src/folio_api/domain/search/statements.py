# ruff: noqa: S608
"""The SQL of search: one statement per (mode, grouping, filters).

Only fixed fragments of this module are joined here; every value the
caller gives travels as a bound parameter (ruff's S608 does not apply).
The lists and scores are described in
:mod:`folio_api.domain.search.repository`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from folio_api.domain.search.keyword_sql import CONFIGS, keyword_ctes, per_language, query_cte
from folio_api.domain.search.semantic import EMPTY, centroids_sql, semantic_lists, semantic_sql
from folio_shared.db.models import CHUNK_LANGUAGES

_EMPTY = "SELECT NULL::uuid AS id, NULL::uuid AS document_id, NULL::float8 AS value WHERE false"


def filter_sql(
    *, document_ids: bool, kinds: bool, created_from: bool, created_to: bool, metadata: bool
) -> str:
    parts = []
    if document_ids:
        parts.append("AND c.document_id = ANY(:document_ids)")
    doc_conditions = []
    if kinds:
        doc_conditions.append("d.kind = ANY(:kinds)")
    if created_from:
        doc_conditions.append("d.created_at >= :created_from")
    if created_to:
        doc_conditions.append("d.created_at < :created_to")
    if metadata:
        doc_conditions.append(
            "NOT EXISTS (SELECT 1 FROM unnest(CAST(:metadata_keys AS text[]), "
            "CAST(:metadata_values AS text[])) AS f(key, value) "
            "WHERE d.metadata ->> f.key IS DISTINCT FROM f.value)"
        )
    if doc_conditions:
        parts.append(
            "AND c.document_id IN (SELECT d.id FROM documents d "
            "WHERE d.tenant_id = :tenant_id AND " + " AND ".join(doc_conditions) + ")"
        )
    return " ".join(parts)


#: The fused score of a row holding ``s_value`` / ``k_value`` (and their
#: ranks ``s_rank`` / ``k_rank``) and the list's ``s_min``, ``s_max``,
#: ``k_max``: semantic alone reports the cosine similarity, keyword alone
#: BM25 over its best, hybrid a convex combination of both (semantic min-max
#: normalised) or weighted reciprocal ranks.
_W = "CAST(:w_semantic AS float8)"
_K = "CAST(:rrf_k AS float8)"
_FUSE = f"""CASE
    WHEN {_W} = 1 THEN s_value
    WHEN {_W} = 0 THEN k_value / nullif(k_max, 0)
    WHEN CAST(:fusion AS text) = 'rrf' THEN
        coalesce({_W} * {_K} / ({_K} + s_rank), 0)
        + coalesce((1 - {_W}) * {_K} / ({_K} + k_rank), 0)
    ELSE coalesce({_W} * (s_value - s_min) / nullif(s_max - s_min, 0), 0)
         + coalesce((1 - {_W}) * k_value / nullif(k_max, 0), 0)
END"""

_CHUNK_SCORES = f"""
chunk_lists AS (
    SELECT id, document_id, value AS s_value, NULL::float8 AS k_value FROM semantic
    UNION ALL SELECT id, document_id, NULL, value FROM kw_chunks
),
chunk_scores AS (
    SELECT id, document_id, max(s_value) AS s_value, max(k_value) AS k_value
    FROM chunk_lists GROUP BY id, document_id
),
ranked_chunks AS (
    SELECT *, CASE WHEN s_value IS NOT NULL
                   THEN row_number() OVER (ORDER BY s_value DESC NULLS LAST, id) END AS s_rank,
              CASE WHEN k_value IS NOT NULL
                   THEN row_number() OVER (ORDER BY k_value DESC NULLS LAST, id) END AS k_rank,
              max(s_value) OVER () AS s_max, min(s_value) OVER () AS s_min,
              max(k_value) OVER () AS k_max
    FROM chunk_scores
),
fused_chunks AS (SELECT *, {_FUSE} AS score FROM ranked_chunks),
doc_lists AS (
    SELECT b.document_id,
           (b.s_value + coalesce(c.value, 0)) / (1 + coalesce(c.weight, 0)) AS s_value
    FROM (SELECT document_id, max(s_value) AS s_value FROM chunk_scores GROUP BY document_id) b
    LEFT JOIN centroids c USING (document_id)
),
doc_both AS (
    SELECT coalesce(a.document_id, k.document_id) AS document_id, a.s_value, k.value AS k_value
    FROM doc_lists a FULL JOIN kw_docs k USING (document_id)
),
ranked_docs AS (
    SELECT *, CASE WHEN s_value IS NOT NULL
                   THEN row_number() OVER (ORDER BY s_value DESC NULLS LAST, document_id)
              END AS s_rank,
              CASE WHEN k_value IS NOT NULL
                   THEN row_number() OVER (ORDER BY k_value DESC NULLS LAST, document_id)
              END AS k_rank,
              max(s_value) OVER () AS s_max, min(s_value) OVER () AS s_min,
              max(k_value) OVER () AS k_max
    FROM doc_both
),
fused_docs AS (SELECT document_id, {_FUSE} AS document_score FROM ranked_docs)"""

_BY_DOCUMENT = """
best AS (
    SELECT DISTINCT ON (f.document_id) f.*, d.document_score
    FROM fused_chunks f JOIN fused_docs d USING (document_id)
    ORDER BY f.document_id, f.score DESC NULLS LAST, f.id
),
picked AS (
    SELECT * FROM best ORDER BY document_score DESC NULLS LAST, score DESC NULLS LAST, id
    LIMIT :k
)"""

_BY_CHUNK = """
picked AS (
    SELECT f.*, d.document_score FROM fused_chunks f JOIN fused_docs d USING (document_id)
    ORDER BY f.score DESC NULLS LAST, f.id LIMIT :k
)"""

_NO_KEYWORD = (
    f"kw_chunks AS ({_EMPTY}), "
    "kw_docs AS (SELECT NULL::uuid AS document_id, NULL::float8 AS value WHERE false)"
)


def statement(
    *,
    semantic: bool,
    exact: bool = False,
    models: Sequence[str] = (),
    keyword: bool,
    by_document: bool,
    excluding: bool,
    where: str,
    headline_config: str,
    words: int = 0,
    centroid_weights: Mapping[str, float] | None = None,
    expanded: bool = False,
    given: bool = False,
) -> str:
    """The whole statement (see the repository's docstring). ``models``:
    the semantic list of the first of them that has chunks in the tenant
    (:func:`~folio_api.domain.search.semantic.semantic_lists`) rather than
    one over every chunk. ``words``: the number of the query's lexemes
    (:func:`~folio_api.domain.search.keyword_sql.keyword_ctes`).
    ``centroid_weights``: model -> ``β`` of a document's centroid in its
    semantic score (:func:`~folio_api.domain.search.semantic.centroids_sql`,
    none by default). ``expanded``: the query's words were expanded;
    ``given``: the keyword list's counts and selected chunks' terms are
    bound, found before the statement (both:
    :func:`~folio_api.domain.search.keyword_sql.keyword_ctes`)."""
    order = "p.document_score DESC NULLS LAST, " if by_document else ""
    semantic_list = EMPTY
    if semantic and models:
        semantic_list = semantic_lists(where, exact, models)
    elif semantic:
        semantic_list = semantic_sql(where, exact)
    return f"""
WITH q AS ({query_cte(excluding, expanded)}),
semantic AS ({semantic_list}),
centroids AS ({centroids_sql(models if semantic else (), centroid_weights or {})}),
{keyword_ctes(where, words, expanded, given) if keyword else _NO_KEYWORD},
{_CHUNK_SCORES},
{_BY_DOCUMENT if by_document else _BY_CHUNK}
SELECT c.id, c.document_id, d.filename, d.kind, d.metadata, c.chunk_index, c.page_start,
       c.page_end, c.char_start, c.char_end, c.text, c.language,
       p.score, p.document_score, p.s_rank AS semantic_rank, p.k_rank AS keyword_rank,
       ts_headline({headline_config}, c.text, {per_language("q.q_{name}", "c")},
                   :headline_options) AS snippet
FROM picked p
JOIN chunks c ON c.id = p.id
JOIN documents d ON d.id = c.document_id, q
WHERE d.status <> 'deleted'
ORDER BY {order}p.score DESC NULLS LAST, c.id
"""


def _lexemes_sql(languages: str | None = None) -> str:
    """SQL: the distinct lexemes of ``:words`` as an array (what keyword
    ranking counts, ``:lexeme_<i>`` of the statement) in every
    configuration; with ``languages`` (a relation of the tenant's chunks'
    languages, column ``lang``), in the configurations those chunks are
    parsed in only: a lexeme of another one can only select or weigh a
    chunk by chance (``docs/benchmarks.md``, "Search")."""
    arrays = []
    for key, config in CONFIGS.items():
        array = f"tsvector_to_array(to_tsvector('{config}', CAST(:words AS text)))"
        if languages is not None:
            others = ", ".join(f"'{code}'" for code in CHUNK_LANGUAGES)
            held = f"lang = '{key}'" if key else f"lang NOT IN ({others})"
            array = f"CASE WHEN EXISTS (SELECT FROM {languages} WHERE {held}) THEN {array} END"
        arrays.append(array)
    return f"ARRAY(SELECT DISTINCT w FROM unnest({' || '.join(arrays)}) AS w ORDER BY 1)"


#: SQL: the lexemes of ``:words`` in every configuration (:func:`_lexemes_sql`).
LEXEMES_SQL = _lexemes_sql()

#: SQL: this transaction's plan mode, and the lexemes (:data:`LEXEMES_SQL`).
PLANS_SQL = f"SELECT {LEXEMES_SQL}, set_config('plan_cache_mode', :plans, true)"

#: SQL: the tenant's chunks, counted no further than ``:limit``, with this
#: transaction's ``ef_search`` and plan mode, and the lexemes.
HELD_SQL = (
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM chunks WHERE tenant_id = :tenant_id "
    f"LIMIT :limit) AS s), {LEXEMES_SQL} FROM (SELECT set_config('hnsw.ef_search', :ef, true), "
    "set_config('plan_cache_mode', :plans, true)) AS e"
)

#: SQL: the (language, model version) pairs the tenant's chunks hold, ``''``
#: for none, one descent of ``ix_chunks_tenant_language_model`` per pair
#: (a skip scan), however many chunks the tenant holds.
_HELD_PAIRS = """
WITH RECURSIVE pairs(lang, version) AS ((
    SELECT coalesce(language, ''), coalesce(model_version, '') FROM chunks
    WHERE tenant_id = :tenant_id ORDER BY 1, 2 LIMIT 1
) UNION ALL
    SELECT n.lang, n.version FROM pairs p, LATERAL (
        SELECT coalesce(c.language, '') AS lang, coalesce(c.model_version, '') AS version
        FROM chunks c WHERE c.tenant_id = :tenant_id
          AND (coalesce(c.language, ''), coalesce(c.model_version, '')) > (p.lang, p.version)
        ORDER BY 1, 2 LIMIT 1
    ) AS n
)"""

#: SQL: :data:`HELD_SQL`, with the lexemes of the tenant's chunks'
#: languages only, and the tenant's (language, model version) pairs as two arrays.
HELD_AND_MODELS_SQL = (
    _HELD_PAIRS
    + " SELECT (SELECT count(*) FROM (SELECT 1 FROM chunks WHERE tenant_id = :tenant_id "
    f"LIMIT :limit) AS s), {_lexemes_sql('pairs')}, ARRAY(SELECT lang FROM pairs), "
    "ARRAY(SELECT version FROM pairs) FROM (SELECT set_config('hnsw.ef_search', :ef, true), "
    "set_config('plan_cache_mode', :plans, true)) AS e"
)
