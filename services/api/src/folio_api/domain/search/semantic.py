# ruff: noqa: S608
"""The SQL of search's semantic list and of a document's semantic score.

A chunk's semantic value is its cosine similarity with the query. A
document's is its best chunk's, or, for a model in
:data:`CENTROID_WEIGHTS` (multilingual-e5-small), ``(best + β · centroid)
/ (1 + β)``: ``centroid`` the cosine of the query with the mean of the
document's chunk vectors by that model. e5 ranks a Portuguese document's
best chunk within a few thousandths of other documents' (the chunk that
mentions the query's subject in passing); how near the document is as a
whole separates them. all-MiniLM-L6-v2's English ranking is worse with it
(``docs/adr/0007-search-ranking.md``), so its documents keep their best
chunk. The centroid is the document's row in ``document_centroids``: the
mean of its chunk vectors of that model (the vectors the list was ranked
by, whatever a model switch has staged), kept by the database as the
chunks change, so a query reads one vector per candidate document instead
of averaging its chunks.

Only fixed fragments are joined here; values travel as bound parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from folio_shared.embedding_models import version_pattern

#: model -> β of a document's centroid in its semantic score (measured on
#: Folio's relevance sets: ``docs/benchmarks.md``, "Search relevance").
CENTROID_WEIGHTS: Mapping[str, float] = {"multilingual-e5-small": 1.0}

#: A semantic list holding nothing (its columns as :func:`semantic_sql`'s).
EMPTY = (
    "SELECT NULL::uuid AS id, NULL::uuid AS document_id, NULL::float8 AS value, "
    "NULL::int AS model, NULL::tid AS tid WHERE false"
)


def semantic_sql(where: str, exact: bool, model: int | None = None) -> str:
    """The ``:candidates`` nearest chunks: through the HNSW index, or, when
    ``exact``, by comparing the query with each of the tenant's chunks
    (ordering by the similarity, not the distance, keeps the planner off
    the index, which would filter the tenant after its scan and lose the
    tenant's own nearest chunks, and computes one distance per chunk).
    ``model``: the list's index in the statement's models (``model``
    column, ``NULL`` for the deployment's one model)."""
    distance = "(c.embedding <=> CAST(:query_vector AS vector))"
    order = "value DESC" if exact else distance
    index = "NULL::int" if model is None else str(model)
    return (
        f"SELECT c.id, c.document_id, 1 - {distance} AS value, {index} AS model, c.ctid AS tid "
        "FROM chunks c WHERE c.tenant_id = :tenant_id AND c.embedding IS NOT NULL "
        f"{where} ORDER BY {order} LIMIT :candidates"
    )


def semantic_lists(where: str, exact: bool, models: Sequence[str]) -> str:
    """The semantic list of the first of ``models`` (``:query_vector_<i>``
    is the query's vector by ``models[i]``) over that model's chunks only
    (``LIKE`` a fixed pattern); the next model's over its own chunks only
    when the tenant holds none of the first's. Vectors of different models
    are never compared, and their cosines, on different scales, never
    ranked together."""
    lists = []
    for i, model in enumerate(models):
        own = f"AND c.model_version LIKE '{version_pattern(model)}' {where}"
        lists.append(semantic_sql(own, exact, i).replace(":query_vector", f":query_vector_{i}"))
    sql = f"SELECT * FROM ({lists[-1]}) AS s{len(lists) - 1}"
    for i in range(len(lists) - 2, -1, -1):
        sql = (
            f"WITH s{i} AS ({lists[i]}) SELECT * FROM s{i} "
            f"UNION ALL SELECT * FROM ({sql}) AS r{i} WHERE NOT EXISTS (SELECT 1 FROM s{i})"
        )
    return sql


def centroids_sql(models: Sequence[str], weights: Mapping[str, float]) -> str:
    """Per document of the semantic list ranked by a model with a weight
    ``β`` > 0 in ``weights`` (:data:`CENTROID_WEIGHTS` by default):
    ``β · centroid`` (``value``) and ``β`` (``weight``, bound as
    ``:centroid_weight_<i>``), the centroid over the document's chunks of
    that model as ``document_centroids`` keeps it (one row per document,
    recomputed by the database whenever the document's chunks change:
    migration 0018). Nothing for the other models' documents."""
    parts = []
    for i, model in enumerate(models):
        if weights.get(model, 0) <= 0:
            continue
        version_pattern(model)  # a model Folio knows: its name is a fixed fragment
        beta = f"CAST(:centroid_weight_{i} AS float8)"
        parts.append(
            f"SELECT g.document_id, {beta} * (1 - (g.centroid <=> "
            f"CAST(:query_vector_{i} AS vector))) AS value, {beta} AS weight "
            f"FROM document_centroids g WHERE g.tenant_id = :tenant_id AND g.model = '{model}' "
            f"AND g.document_id IN (SELECT document_id FROM semantic WHERE model = {i})"
        )
    if not parts:
        return (
            "SELECT NULL::uuid AS document_id, NULL::float8 AS value, "
            "NULL::float8 AS weight WHERE false"
        )
    return " UNION ALL ".join(parts)
