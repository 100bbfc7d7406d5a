# ruff: noqa: S608
"""The SQL of search's keyword list (BM25 of chunks and of documents,
described in :mod:`folio_api.domain.search.repository`), in parts.

Most of the list does not need the query's vector: the words' counts
(``held``), the chunks the rarer words select and their terms
(:func:`selected_ctes`). Only the semantic list's matching chunks, which
are scored too, and the scores after them do. So the list is written
either whole, inside the search statement (:func:`keyword_ctes`), or
split (:mod:`~folio_api.domain.search.keyword_terms`): the vector-free
part in a statement of its own (:func:`early_sql`), run while the query
is embedded, its answer bound into the search statement
(:func:`keyword_ctes` with ``given``), which adds the semantic list's
chunks and scores all of them exactly as the whole list does.

Only fixed fragments are joined here; every value travels as a bound
parameter (ruff's S608 does not apply).
"""

from __future__ import annotations

from folio_shared.db.models import CHUNK_LANGUAGES, TEXT_SEARCH_CONFIG

#: language key of a chunk (``''`` when unknown) -> its configuration
CONFIGS = {**CHUNK_LANGUAGES, "": TEXT_SEARCH_CONFIG}
_LANG = "coalesce(c.language, '')"


def query_cte(excluding: bool, expanded: bool = False) -> str:
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


def per_language(template: str, alias: str) -> str:
    """``CASE <language of alias's chunk> WHEN ... THEN template(name) ... END``."""
    cases = " ".join(f"WHEN '{key}' THEN {template.format(name=key)}" for key in CHUNK_LANGUAGES)
    return f"CASE coalesce({alias}.language, '') {cases} ELSE {template.format(name='simple')} END"


def _match_sql() -> str:
    """A chunk matches the query parsed in its own language. The first
    test, any language's query, is what the GIN index answers, in one
    scan (a disjunction per language would scan it once per language);
    the second keeps the chunk's own language's."""
    any_language = " || ".join(f"q.q_{key or 'simple'}" for key in CONFIGS)
    return f"(c.tsv @@ ({any_language}) AND c.tsv @@ {per_language('q.q_{name}', 'c')})"


#: SQL of a lexeme (the text expression ``{}``) as tsquery input: quoted,
#: its backslashes and quotes escaped.
LEXEME_LITERAL = r"'''' || replace(replace({}, '\', '\\'), '''', '''''') || ''''"


#: SQL: a matched lexeme's weight in BM25 when the query was expanded
#: (``terms``, alias ``m`` the chunk, ``t`` the lexeme): 1 for the query's
#: own words, ``:expansion_weight`` for an expansion's only.
EXPANSION_WEIGHT = (
    "CASE WHEN t.lexeme = ANY({originals}) THEN 1 ELSE CAST(:expansion_weight AS float8) END"
)

_COLUMNS = f"c.id, c.document_id, c.tsv, c.token_count, c.language, {_LANG} AS lang"

#: SQL: the ``terms`` of the chunks in ``matched`` (alias ``m``): one row
#: per chunk and query lexeme it holds, ``tf`` its count in the chunk.
_TERMS = """
    SELECT m.id, m.document_id, m.token_count, m.lang, t.lexeme,
           cardinality(t.positions)::float8 AS tf{weight}
    FROM matched m, q, unnest(ts_filter(setweight(m.tsv, 'A', {lexemes}), '{{a}}')) t"""

#: The columns of the early statement's answer (:func:`early_sql`) after the
#: words' counts, each an array over the selected chunks' terms, and the
#: type each is bound back as.
TERM_COLUMNS = {
    "id": "uuid[]",
    "document_id": "uuid[]",
    "token_count": "int[]",
    "lang": "text[]",
    "lexeme": "text[]",
    "tf": "float8[]",
}


def _held(where: str, words: int) -> str:
    """``held``: each of the ``words`` lexemes (``:lexeme_<i>``), how many
    of the tenant's chunks within the filters hold it, counted no further
    than ``:max_matches + 1``, and where those chunks are (``tids``, their
    ``ctid``: :func:`_selected` reads a rare word's chunks from there)."""
    counts = [
        f"(CAST(:lexeme_{i} AS text), ARRAY(SELECT c.ctid FROM chunks c WHERE "
        f"c.tsv @@ CAST({LEXEME_LITERAL.format(f'CAST(:lexeme_{i} AS text)')} AS tsquery) "
        f"AND c.tenant_id = :tenant_id {where} LIMIT :max_matches + 1))"
        for i in range(words)
    ]
    if not counts:
        return (
            "SELECT NULL::text AS lexeme, NULL::bigint AS chunks, NULL::tid[] AS tids WHERE false"
        )
    return (
        "SELECT lexeme, cardinality(tids)::bigint AS chunks, tids "
        f"FROM (VALUES {', '.join(counts)}) AS h(lexeme, tids)"
    )


def _selecting(held: str) -> str:
    agg = "string_agg(" + LEXEME_LITERAL.format("lexeme") + ", ' | ')"
    return f"""
held AS ({held}),
selecting AS (SELECT CAST({agg} AS tsquery) AS query FROM held WHERE chunks <= :max_matches),"""


def _selected(where: str) -> str:
    """The matching chunks that hold a word ``selecting`` holds, read where
    ``held`` found them (a TID scan: only those rows, whatever share of
    the table the tenant holds; a chunk two rare words hold is read once)."""
    scope = f"c.tenant_id = :tenant_id AND {_match_sql()} {where}"
    tids = "SELECT t FROM held h, unnest(h.tids) AS t WHERE h.chunks <= :max_matches"
    return f"SELECT {_COLUMNS} FROM chunks c, q WHERE c.ctid = ANY(ARRAY({tids})) AND {scope}"


#: The comment the early statement begins with: what it is, in
#: ``pg_stat_activity`` (whose text is cut after 1 kB by default).
EARLY_MARK = "/* search: keyword terms */"


def early_sql(excluding: bool, where: str, words: int) -> str:
    """The keyword list's part that needs no vector, alone: the words'
    counts (``lexemes``, ``chunks``) and the terms of the chunks the
    rarer words select, as arrays (:data:`TERM_COLUMNS`)."""
    lexemes = per_language("q.l_{name}", "m")
    arrays = ", ".join(f"array_agg({name}) AS {name}" for name in TERM_COLUMNS)
    return f"""{EARLY_MARK}
WITH q AS ({query_cte(excluding)}),{_selecting(_held(where, words))}
matched AS ({_selected(where)}),
terms AS ({_TERMS.format(weight="", lexemes=lexemes)})
SELECT h.lexemes, h.chunks, t.*
FROM (SELECT array_agg(lexeme) AS lexemes, array_agg(chunks) AS chunks FROM held) h,
     (SELECT {arrays} FROM terms) t
"""


def _given_terms(weight: str) -> str:
    """SQL: the selected chunks' terms the early statement found, bound as
    ``:term_<column>`` arrays, as rows of ``terms`` (alias ``t``; ``m``
    gives the weight of an expanded query the chunk's language)."""
    arrays = ", ".join(f"CAST(:term_{name} AS {kind})" for name, kind in TERM_COLUMNS.items())
    language = ", LATERAL (SELECT t.lang AS language) m, q" if weight else ""
    return f"""
    SELECT t.id, t.document_id, t.token_count, t.lang, t.lexeme, t.tf{weight}
    FROM unnest({arrays}) AS t(id, document_id, token_count, lang, lexeme, tf){language}
    UNION ALL"""


#: SQL: ``held`` from the early statement's answer (``:held_lexemes``,
#: ``:held_chunks``).
_GIVEN_HELD = (
    "SELECT *, NULL::tid[] AS tids "
    "FROM unnest(CAST(:held_lexemes AS text[]), CAST(:held_chunks AS bigint[])) "
    "AS h(lexeme, chunks)"
)


def keyword_ctes(where: str, words: int, expanded: bool = False, given: bool = False) -> str:
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
    the order the rows were written in. The tenant's totals come from
    ``tenant_keyword_totals`` (a few rows the database keeps from the
    documents' ``chunk_count`` / ``token_count``, migration 0024), a
    scored document's length from its row: neither scans the tenant's
    chunks or documents.

    ``words``: how many lexemes the query has (``LEXEMES_SQL``, asked
    before the statement), bound as ``:lexeme_<i>``: each is counted by a
    subquery of its own, planned with its value, so a word most chunks
    hold is counted by reading chunks until ``:max_matches + 1`` hold it
    rather than by building the bitmap of every chunk that holds it, and a
    word a small tenant holds in few chunks through both the word's index
    and the tenant's. The count keeps where it found the chunks (their
    ``ctid``), and a rare word's chunks are read from there (a TID scan),
    not by a second search of the word's index, which cannot tell tenants
    apart and read every tenant's chunks that hold the word. The semantic
    list's chunks are read again by their ``ctid`` too, not through the
    primary key. Both in this statement's snapshot, where a ``ctid``
    names the row version the statement saw.

    ``expanded``: the query holds words added to its own
    (:func:`~folio_api.domain.search.keywords.parse_keywords`): a lexeme
    only they hold weighs ``:expansion_weight`` of its BM25 term, in chunk
    and document scores (:data:`EXPANSION_WEIGHT`).

    ``given``: the counts and the selected chunks' terms are the early
    statement's (:func:`early_sql`), bound; only the semantic list's
    matching chunks (and the fallback of keyword search alone) are read
    here. The scores are the same as without it."""
    lexemes = per_language("q.l_{name}", "m")
    # without expansions the statement is the one it always was
    weight, by_chunk, by_doc, doc_weight = "", "", "", ""
    if expanded:
        originals = per_language("q.o_{name}", "m")
        weight = f", {EXPANSION_WEIGHT.format(originals=originals)} AS weight"
        by_chunk, by_doc, doc_weight = "t.weight * ", "d.weight * ", ", max(weight) AS weight"
    scope = f"c.tenant_id = :tenant_id AND {_match_sql()} {where}"
    selected = "" if given else f"\n    {_selected(where)}\n    UNION ALL"
    terms = _TERMS.format(weight=weight, lexemes=lexemes)
    if given:
        terms = _given_terms(weight) + terms
    return f"""{_selecting(_GIVEN_HELD if given else _held(where, words))}
matched AS ({selected}
    SELECT {_COLUMNS} FROM semantic v JOIN chunks c ON c.ctid = v.tid, q, selecting s
    WHERE {_match_sql()} AND NOT coalesce(c.tsv @@ s.query, false)
    UNION ALL (
        SELECT {_COLUMNS} FROM chunks c, q, selecting s
        WHERE s.query IS NULL AND NOT EXISTS (SELECT FROM semantic) AND {scope}
        ORDER BY ts_rank(c.tsv, {per_language("q.q_{name}", "c")}) DESC, c.id
        LIMIT :max_matches
    )
),
terms AS ({terms}
),
stats AS (
    SELECT coalesce(sum(chunks), 0)::float8 AS chunks,
           greatest(sum(tokens)::float8 / greatest(sum(chunks), 1), 1) AS chunk_len,
           coalesce(sum(documents), 0)::float8 AS docs
    FROM tenant_keyword_totals WHERE tenant_id = :tenant_id
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
