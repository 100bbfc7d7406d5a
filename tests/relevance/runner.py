"""Runs Folio's relevance sets: index a set's documents in a tenant, ask
its queries in every search mode, score the document ranking.

The documents go through the worker's own steps (Markdown extraction,
token-aware chunking, the real embedding model, the chunk store) and the
queries through the API's search SQL, so the figures are those a client
gets. Search groups hits by document, so its list is the document
ranking. Measures, per mode and split:

- ``top1``: share of queries whose expected document ranks first;
- ``mrr5``: mean of ``1 / rank`` when the document is in the first 5;
- ``ndcg10``: mean of ``1 / log2(rank + 1)`` when it is in the first 10
  (one relevant document per query, so the ideal DCG is 1).

Keyword search (``mode=keyword``) adds the words of the tenant's
vocabulary nearest the query once worker-docs has collected them:
:func:`build_vocabulary` collects them as the ``reembed_chunks``
maintenance task does, :func:`vocabulary_expansions` finds each query's
words with the API's own function.

Used by ``tests/integration/pipeline/test_relevance_sets.py`` (floors) and
``bench/search_relevance.py`` (the table).
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_api.domain.search.keywords import parse_keywords
from folio_api.domain.search.preparing import prepare
from folio_api.domain.search.repository import (
    SearchGroup,
    SearchMode,
    SearchOptions,
    keyword_terms,
    search,
)
from folio_api.domain.search.vocabulary import added_words
from folio_shared.db.enums import DocumentKind, DocumentStatus
from folio_shared.db.models import Document, Tenant
from folio_shared.language import detect_language
from folio_worker_docs.chunks_store import replace_document_chunks
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import Models
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages, model_text
from folio_worker_docs.text.extract import extract_document
from folio_worker_docs.vocabulary import collect

HERE = Path(__file__).parent
LANGUAGES = ("en", "pt")
#: Documents asked of search per query (nDCG@10 reads 10).
HITS_PER_QUERY = 10


@dataclass(frozen=True, slots=True)
class Query:
    query_id: str
    split: str  # "tune" or "held"
    expected: str  # filename
    text: str


@dataclass(frozen=True, slots=True)
class RelevanceSet:
    language: str
    documents: dict[str, str]  # filename -> Markdown
    queries: list[Query]


@dataclass(slots=True)
class Figures:
    """Scores of one mode over some queries (see the module docstring)."""

    queries: int = 0
    top1: float = 0.0
    mrr5: float = 0.0
    ndcg10: float = 0.0
    misses: list[str] = field(default_factory=list)

    def add(self, rank: int | None, note: str) -> None:
        self.queries += 1
        if rank == 1:
            self.top1 += 1
        else:
            self.misses.append(note)
        if rank is not None and rank <= 5:
            self.mrr5 += 1 / rank
        if rank is not None and rank <= 10:
            self.ndcg10 += 1 / math.log2(rank + 1)

    def averaged(self) -> Figures:
        n = max(self.queries, 1)
        return Figures(self.queries, self.top1 / n, self.mrr5 / n, self.ndcg10 / n, self.misses)


def load_set(language: str) -> RelevanceSet:
    folder = HERE / language
    documents = {p.name: p.read_text() for p in sorted(folder.glob("*.md"))}
    lines = (folder / "queries.tsv").read_text().splitlines()[1:]
    queries = [Query(*line.split("\t", 3)) for line in lines if line.strip()]
    return RelevanceSet(language, documents, queries)


async def make_tenant(session: AsyncSession) -> uuid.UUID:
    tenant = Tenant(name=f"relevance-{uuid.uuid4().hex[:10]}")
    session.add(tenant)
    await session.flush()
    return tenant.id


async def index_documents(
    session: AsyncSession,
    embedder: Embedder | Models,
    tenant_id: uuid.UUID,
    documents: Mapping[str, str | bytes],
    kind: DocumentKind = DocumentKind.MARKDOWN,
) -> int:
    """Store ``documents`` (filename -> Markdown, or the file's bytes of
    type ``kind``) as ready documents of ``tenant_id`` with their chunks and
    vectors (``embedder``, or the model of each document's language);
    returns the chunk count."""
    models = embedder if isinstance(embedder, Models) else Models(embedder)
    total = 0
    for filename, content in documents.items():
        data = content.encode() if isinstance(content, str) else content
        document = Document(
            tenant_id=tenant_id,
            filename=filename,
            kind=kind,
            storage_key=f"{tenant_id}/{uuid.uuid4().hex}",
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            status=DocumentStatus.READY,
        )
        session.add(document)
        await session.flush()
        pages = extract_document(kind, data).pages
        language = detect_language("\n".join(p.text for p in pages))
        model = models.of(language)
        chunks = chunk_pages(pages, model.token_spans, ChunkingOptions())
        total += await replace_document_chunks(
            session,
            tenant_id=tenant_id,
            document_id=document.id,
            chunks=chunks,
            vectors=model.encode([model_text(c.text) for c in chunks]),
            model_version=model.model_version,
            pipeline_version="relevance",
            language=language,
        )
    return total


#: A copy of a tenant's documents and chunks (vectors, text and all) into
#: another tenant, ``:copies`` times: the neighbour nearest to every query.
_COPY_SQL = """
WITH copies AS (
    SELECT d.id AS old_id, g, gen_random_uuid() AS new_id
    FROM documents d, generate_series(1, :copies) g WHERE d.tenant_id = :tenant_id
),
docs AS (
    INSERT INTO documents (id, tenant_id, filename, kind, storage_key, sha256, size_bytes,
                           status, chunk_count, token_count)
    SELECT c.new_id, :neighbour, d.filename, d.kind, d.storage_key || '-' || c.g,
           encode(sha256(convert_to(d.sha256 || c.g, 'UTF8')), 'hex'), d.size_bytes,
           d.status, d.chunk_count, d.token_count
    FROM copies c JOIN documents d ON d.id = c.old_id
)
INSERT INTO chunks (id, tenant_id, document_id, chunk_index, page_start, page_end, char_start,
                    char_end, text, token_count, embedding, language, model_version,
                    pipeline_version)
SELECT gen_random_uuid(), :neighbour, c.new_id, k.chunk_index, k.page_start, k.page_end,
       k.char_start, k.char_end, k.text, k.token_count, k.embedding, k.language,
       k.model_version, k.pipeline_version
FROM copies c JOIN chunks k ON k.document_id = c.old_id
"""


async def add_neighbour(
    session: AsyncSession, tenant_id: uuid.UUID, copies: int
) -> tuple[uuid.UUID, int]:
    """A new tenant holding ``copies`` copies of ``tenant_id``'s documents
    and chunks; returns it and the chunks it got."""
    neighbour = await make_tenant(session)
    result = await session.execute(
        sa.text(_COPY_SQL), {"copies": copies, "tenant_id": tenant_id, "neighbour": neighbour}
    )
    return neighbour, int(result.rowcount)  # type: ignore[attr-defined]


#: Maintenance rounds :func:`build_vocabulary` runs at most.
VOCABULARY_ROUNDS = 50


async def build_vocabulary(
    factory: async_sessionmaker[AsyncSession], models: Models, tenant_id: uuid.UUID
) -> int:
    """Fill ``tenant_id``'s vocabulary as the ``reembed_chunks`` maintenance
    task does: worker-docs' :func:`~folio_worker_docs.vocabulary.collect`
    with its bound per round, round after round until no document of the
    tenant is pending; returns the words added."""
    words = 0
    for _ in range(VOCABULARY_ROUNDS):
        done = await collect(factory, models, tenant_id=tenant_id)
        words += done.words
        if not done.remaining:
            return words
    raise RuntimeError(f"documents still pending after {VOCABULARY_ROUNDS} vocabulary rounds")


#: A query's vector, or its vector by each model (model name -> vector).
QueryVector = Sequence[float] | Mapping[str, Sequence[float]]


def query_vectors(embedder: Embedder | Models, texts: Sequence[str]) -> list[QueryVector]:
    """Each query's vector: by ``embedder``, or by each model of ``Models``
    routing by language (as the API embeds them under ``by-language``)."""
    if isinstance(embedder, Models) and embedder.by_language:
        each = [embedder.default, *embedder.by_language.values()]
        return [
            {m.model_version.split("@")[0]: m.encode_query(text) for m in each} for text in texts
        ]
    model = embedder.default if isinstance(embedder, Models) else embedder
    return [model.encode_query(text) for text in texts]


async def vocabulary_expansions(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    texts: Sequence[str],
    vectors: Sequence[QueryVector],
    setting: str,
) -> tuple[list[list[str]], list[float]]:
    """The words the API adds to each query's keyword search in a deployment
    embedding with ``setting`` (its own
    :func:`~folio_api.domain.search.vocabulary.added_words`, the query's
    vectors by each model given as its worker would give them), and the
    milliseconds each took apart from embedding the query."""
    out: list[list[str]] = []
    times: list[float] = []
    for text, vector in zip(texts, vectors, strict=True):

        async def embed(
            models: Sequence[str | None], vector: QueryVector = vector
        ) -> list[list[float]]:
            if isinstance(vector, Mapping):
                return [list(vector[m or ""]) for m in models]
            return [list(vector) for _ in models]

        started = time.perf_counter()
        out.append(await added_words(session, tenant_id, text, setting, embed))
        times.append((time.perf_counter() - started) * 1000)
    return out, times


def parity(query: Query) -> str:
    """``odd`` or ``even``: the half of the set by the query id's number
    (ranking changes are tuned on one half and checked on the other)."""
    return "odd" if int(query.query_id.rsplit("-", 1)[1]) % 2 else "even"


async def rank_documents(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    text: str,
    vector: QueryVector,
    mode: SearchMode,
    options: SearchOptions | None = None,
    expansions: Sequence[str] = (),
    expanded: frozenset[SearchMode] = frozenset({SearchMode.KEYWORD}),
) -> list[str]:
    """The documents in search's order (one hit per document);
    ``expansions``: words added to the search's keywords in the modes
    ``expanded`` names (default keyword search only, as the API adds the
    tenant's vocabulary's)."""
    hits = await search(
        session,
        tenant_id=tenant_id,
        query_vector=None if isinstance(vector, Mapping) else vector,
        query_vectors=vector if isinstance(vector, Mapping) else None,
        query_text=text,
        k=HITS_PER_QUERY,
        mode=mode,
        group=SearchGroup.DOCUMENT,
        options=options,
        expansions=expansions if mode in expanded else (),
    )
    return list(dict.fromkeys(hit.filename for hit in hits))


async def early_differences(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    queries: Sequence[Query],
    vectors: Sequence[QueryVector],
    options: SearchOptions | None = None,
) -> list[str]:
    """The queries whose hybrid hits differ (chunks, order, ranks in each
    list) when the keyword list's vector-free part is found first, as the
    API finds it while the query is embedded (``keyword_terms``), from the
    hits of the statement that finds everything itself."""
    opts = options or SearchOptions()
    differing = []
    for query, vector in zip(queries, vectors, strict=True):
        prepared = await prepare(session, tenant_id, opts, (), parse_keywords(query.text).words)
        terms = await keyword_terms(
            session, tenant_id=tenant_id, query_text=query.text, prepared=prepared,
            k=HITS_PER_QUERY, options=opts,
        )  # fmt: skip
        found = []
        for given in (None, terms):
            hits = await search(
                session, tenant_id=tenant_id, query_text=query.text, k=HITS_PER_QUERY,
                query_vector=None if isinstance(vector, Mapping) else vector,
                query_vectors=vector if isinstance(vector, Mapping) else None,
                options=opts, prepared=prepared, keyword_terms=given,
            )  # fmt: skip
            found.append([(h.chunk_id, h.semantic_rank, h.keyword_rank) for h in hits])
        if found[0] != found[1]:
            differing.append(query.query_id)
    return differing


async def evaluate(
    session: AsyncSession,
    embedder: Embedder | Models,
    tenant_id: uuid.UUID,
    queries: Sequence[Query],
    options: SearchOptions | None = None,
    vectors: Sequence[QueryVector] | None = None,
    expansions: Sequence[Sequence[str]] | None = None,
    expanded: frozenset[SearchMode] = frozenset({SearchMode.KEYWORD}),
) -> dict[tuple[SearchMode, str], Figures]:
    """Figures per ``(mode, split)``; split ``all`` covers every query,
    ``tune`` / ``held`` the set's splits, ``odd`` / ``even`` the query ids'
    halves (:func:`parity`).
    ``vectors``: the queries' (default: encoded here). ``expansions``: the
    words added to each query's keywords (default none) in the modes
    ``expanded`` names (default keyword search only, as the API)."""
    if vectors is None:
        vectors = query_vectors(embedder, [q.text for q in queries])
    added = expansions or [() for _ in queries]
    out: dict[tuple[SearchMode, str], Figures] = {}
    for mode in SearchMode:
        for query, vector, extra in zip(queries, vectors, added, strict=True):
            ranking = await rank_documents(
                session, tenant_id, query.text, vector, mode, options, extra, expanded
            )
            rank = ranking.index(query.expected) + 1 if query.expected in ranking else None
            note = f"{query.query_id} {query.text!r} -> {ranking[0] if ranking else None}"
            for split in (query.split, "all", parity(query)):
                out.setdefault((mode, split), Figures()).add(rank, note)
    return {key: figures.averaged() for key, figures in out.items()}


def table(language: str, figures: dict[tuple[SearchMode, str], Figures]) -> str:
    """A Markdown table: one row per mode and split."""
    rows = [
        f"| {language} | mode | queries | top-1 | MRR@5 | nDCG@10 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (mode, split), f in sorted(figures.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rows.append(
            f"| {split} | {mode} | {f.queries} | {f.top1:.1%} | {f.mrr5:.3f} | {f.ndcg10:.3f} |"
        )
    return "\n".join(rows)
