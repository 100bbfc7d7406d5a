# ruff: noqa: S608
"""The SQL of search: one statement per (mode, grouping, filters).

Only fixed fragments of this module are joined here; every value the
caller gives travels as a bound parameter (ruff's S608 does not apply).
The lists and scores are described in
:mod:`folio_api.domain.search.repository`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from folio_api.domain.search.semantic import EMPTY, centroids_sql, semantic_lists, semantic_sql
from folio_shared.db.models import CHUNK_LANGUAGES, TEXT_SEARCH_CONFIG

#: language key of a chunk (``''`` when unknown) -> its configuration
CONFIGS = {**CHUNK_LANGUAGES, "": TEXT_SEARCH_CONFIG}
_LANG = "coalesce(c.language, '')"
_EMPTY = "SELECT NULL::uuid AS id, NULL::uuid AS document_id, NULL::float8 AS value WHERE false"


def _query_cte(excluding: bool, expanded: bool = False) -> str:
    """Per configuration: the tsquery (``q_<key>``) and the wanted
    lexemes (``l_<key>``); ``expanded``: also the lexemes of the query's
    own words (``o_<key>``, :data:`EXPANSION_WEIGHT`)."""
    parts = []
    for key, config in CONFIGS.items():
        name = key or "simple"
        query = f"websearch_to_tsquery('{config}', :wanted)"
        if excluding:
            query += f" && !! websearch_to_tsquery('{config}', :excluded)"
        parts.append(f"{query} AS q_{name}")
        parts.append(f"tsvector_to_array(to_tsvector('{config}', :words)) AS l_{name}")
        if expanded:
            parts.append(f"tsvector_to_array(to_tsvector('{config}', :original)) AS o_{name}")
    return "SELECT " + ", ".join(parts)


def _per_language(template: str, alias: str) -> str:
    """``CASE <language of alias's chunk> WHEN ... THEN template(name) ... END``."""
    cases = " ".join(f"WHEN '{key}' THEN {template.format(name=key)}" for key in CHUNK_LANGUAGES)
    return f"CASE coalesce({alias}.language, '') {cases} ELSE {template.format(name='simple')} END"


def _match_sql() -> str:
    """A chunk matches the query parsed in its own language. The first
    test, any language's query, is what the GIN index answers, in one
    scan (a disjunction per language would scan it once per language);
    the second keeps the chunk's own language's."""
    any_language = " || ".join(f"q.q_{key or 'simple'}" for key in CONFIGS)
    return f"(c.tsv @@ ({any_language}) AND c.tsv @@ {_per_language('q.q_{name}', 'c')})"


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


#: SQL of a lexeme (the text expression ``{}``) as tsquery input: quoted,
#: its backslashes and quotes escaped.
LEXEME_LITERAL = r"'''' || replace(replace({}, '\', '\\'), '''', '''''') || ''''"


#: SQL: a matched lexeme's weight in BM25 when the query was expanded
#: (``terms``, alias ``m`` the chunk, ``t`` the lexeme): 1 for the query's
#: own words, ``:expansion_weight`` for an expansion's only.
EXPANSION_WEIGHT = (
    "CASE WHEN t.lexeme = ANY({originals}) THEN 1 ELSE CAST(:expansion_weight AS float8) END"
)


def _keyword_ctes(where: str, words: int, expanded: bool = False) -> str:
    """Which matching chunks are scored (``matched``), then BM25 of chunks
    (``kw_chunks``, ``:k1`` / ``:b``) and of documents (``kw_docs``, the
    document's matching chunks taken together, its length all its
    chunks', ``:document_k1`` / ``:document_b``).

    Scored: every matching chunk that holds a query word held by at most
    ``:max_matches`` of the tenant's chunks (``held`` counts them, no
    further than that, within the filters), and the semantic list's
    chunks that match. A more common word selects no chunks of its own
    (it says little, and scoring all its chunks costs what search cannot
    afford) but counts in the scores of the chunks selected, its count as
    their document frequency. When no word selects and there is no
    semantic list (keyword search alone), the ``:max_matches`` matching
    chunks ``ts_rank`` ranks highest are scored. None of it depends on
    the order the rows were written in. Counts and lengths come from the
    documents' ``chunk_count`` / ``token_count``, which the chunk store
    keeps, not from a scan of the tenant's chunks.

    ``words``: how many lexemes the query has (:data:`LEXEMES_SQL`, asked
    before the statement), bound as ``:lexeme_<i>``: each is counted by a
    subquery of its own, planned with its value, so a word most chunks
    hold is counted by reading chunks until ``:max_matches + 1`` hold it
    rather than by building the bitmap of every chunk that holds it.

    ``expanded``: the query holds words added to its own
    (:func:`~folio_api.domain.search.keywords.parse_keywords`): a lexeme
    only they hold weighs ``:expansion_weight`` of its BM25 term, in chunk
    and document scores (:data:`EXPANSION_WEIGHT`)."""
    lexemes = _per_language("q.l_{name}", "m")
    # without expansions the statement is the one it always was
    weight, by_chunk, by_doc, doc_weight = "", "", "", ""
    if expanded:
        originals = _per_language("q.o_{name}", "m")
        weight = f", {EXPANSION_WEIGHT.format(originals=originals)} AS weight"
        by_chunk, by_doc, doc_weight = "t.weight * ", "d.weight * ", ", max(weight) AS weight"
    columns = f"c.id, c.document_id, c.tsv, c.token_count, c.language, {_LANG} AS lang"
    scope = f"c.tenant_id = :tenant_id AND {_match_sql()} {where}"
    agg = "string_agg(" + LEXEME_LITERAL.format("lexeme") + ", ' | ')"
    counts = [
        f"(CAST(:lexeme_{i} AS text), (SELECT count(*) FROM (SELECT 1 FROM chunks c WHERE "
        f"c.tsv @@ CAST({LEXEME_LITERAL.format(f'CAST(:lexeme_{i} AS text)')} AS tsquery) "
        f"AND c.tenant_id = :tenant_id {where} LIMIT :max_matches + 1) AS h))"
        for i in range(words)
    ]
    held = (
        f"SELECT * FROM (VALUES {', '.join(counts)}) AS h(lexeme, chunks)"
        if counts
        else "SELECT NULL::text AS lexeme, NULL::bigint AS chunks WHERE false"
    )
    return f"""
held AS ({held}),
selecting AS (SELECT CAST({agg} AS tsquery) AS query FROM held WHERE chunks <= :max_matches),
matched AS (
    SELECT {columns} FROM chunks c, q, selecting s WHERE c.tsv @@ s.query AND {scope}
    UNION ALL
    SELECT {columns} FROM semantic v JOIN chunks c ON c.id = v.id, q, selecting s
    WHERE {_match_sql()} AND NOT coalesce(c.tsv @@ s.query, false)
    UNION ALL (
        SELECT {columns} FROM chunks c, q, selecting s
        WHERE s.query IS NULL AND NOT EXISTS (SELECT FROM semantic) AND {scope}
        ORDER BY ts_rank(c.tsv, {_per_language("q.q_{name}", "c")}) DESC, c.id
        LIMIT :max_matches
    )
),
terms AS (
    SELECT m.id, m.document_id, m.token_count, m.lang, t.lexeme,
           cardinality(t.positions)::float8 AS tf{weight}
    FROM matched m, q, unnest(ts_filter(setweight(m.tsv, 'A', {lexemes}), '{{a}}')) t
),
stats AS (
    SELECT coalesce(sum(chunk_count), 0)::float8 AS chunks,
           greatest(sum(token_count)::float8 / greatest(sum(chunk_count), 1), 1) AS chunk_len,
           count(*)::float8 AS docs
    FROM documents WHERE tenant_id = :tenant_id AND chunk_count > 0
),
chunk_df AS (
    SELECT t.lang, t.lexeme, greatest(count(*), max(h.chunks)) AS df
    FROM terms t LEFT JOIN held h ON h.lexeme = t.lexeme AND h.chunks > :max_matches
    GROUP BY t.lang, t.lexeme
),
chunk_idf AS MATERIALIZED (
    SELECT lang, lexeme, ln(1 + (s.chunks - df + 0.5) / (df + 0.5)) AS idf
    FROM chunk_df, stats s
),
kw_chunks AS (
    SELECT t.id, t.document_id,
           sum({by_chunk}i.idf * t.tf * (CAST(:k1 AS float8) + 1)
               / (t.tf + CAST(:k1 AS float8)
                  * (1 - CAST(:b AS float8) + CAST(:b AS float8) * t.token_count / s.chunk_len)))
           AS value
    FROM terms t JOIN chunk_idf i USING (lang, lexeme), stats s
    GROUP BY t.id, t.document_id
),
doc_terms AS (
    SELECT document_id, lang, lexeme, sum(tf) AS tf{doc_weight} FROM terms GROUP BY 1, 2, 3
),
doc_idf AS MATERIALIZED (
    SELECT lang, lexeme, ln(1 + (s.docs - count(*) + 0.5) / (count(*) + 0.5)) AS idf
    FROM doc_terms, stats s GROUP BY lang, lexeme, s.docs
),
kw_docs AS (
    SELECT d.document_id,
           sum({by_doc}i.idf * d.tf * (CAST(:document_k1 AS float8) + 1)
               / (d.tf + CAST(:document_k1 AS float8)
                  * (1 - CAST(:document_b AS float8)
                     + CAST(:document_b AS float8) * l.token_count * s.docs
                       / greatest(s.chunks * s.chunk_len, 1))))
           AS value
    FROM doc_terms d JOIN doc_idf i USING (lang, lexeme) JOIN documents l ON l.id = d.document_id,
         stats s
    GROUP BY d.document_id
)"""


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
) -> str:
    """The whole statement (see the repository's docstring). ``models``:
    the semantic list of the first of them that has chunks in the tenant
    (:func:`~folio_api.domain.search.semantic.semantic_lists`) rather than
    one over every chunk. ``words``: the number of the query's lexemes (:func:`_keyword_ctes`).
    ``centroid_weights``: model -> ``β`` of a document's centroid in its
    semantic score (:func:`~folio_api.domain.search.semantic.centroids_sql`,
    none by default). ``expanded``: the query's words were expanded
    (:func:`_keyword_ctes`)."""
    order = "p.document_score DESC NULLS LAST, " if by_document else ""
    semantic_list = EMPTY
    if semantic and models:
        semantic_list = semantic_lists(where, exact, models)
    elif semantic:
        semantic_list = semantic_sql(where, exact)
    return f"""
WITH q AS ({_query_cte(excluding, expanded)}),
semantic AS ({semantic_list}),
centroids AS ({centroids_sql(models if semantic else (), centroid_weights or {})}),
{_keyword_ctes(where, words, expanded) if keyword else _NO_KEYWORD},
{_CHUNK_SCORES},
{_BY_DOCUMENT if by_document else _BY_CHUNK}
SELECT c.id, c.document_id, d.filename, d.kind, d.metadata, c.chunk_index, c.page_start,
       c.page_end, c.char_start, c.char_end, c.text, c.language,
       p.score, p.document_score, p.s_rank AS semantic_rank, p.k_rank AS keyword_rank,
       ts_headline({headline_config}, c.text, {_per_language("q.q_{name}", "c")},
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
