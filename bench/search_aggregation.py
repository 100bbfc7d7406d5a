"""How a document's semantic score is made from its chunks' similarities,
and the chunk size, measured on Folio's relevance sets.

Search scores a document semantically by its best chunk's cosine
similarity (``docs/adr/0007-search-ranking.md``). This benchmark indexes a
set as ``bench/search_relevance.py`` does (real chunking, the models of the
default ``by-language`` deployment, the chunk store, a private PostgreSQL),
reads back every chunk's vector and each query's document-level BM25 from
Folio's keyword search, and then ranks the documents outside the database
with other semantic document scores and the same convex fusion
(``w · semantic' + (1 - w) · keyword'``, semantic min-max normalised):

- ``max``: the best chunk (what search does; its figures equal
  ``bench/search_relevance.py``'s);
- ``max+centroid β``: ``(best chunk + β · cosine with the mean of the
  document's chunk vectors) / (1 + β)``;
- ``top3``: the mean of the 3 best chunks;
- ``--chunk-tokens N``: the set's chunks cut again at ``N`` tokens (overlap
  32, or less for small sizes) and embedded again, scored by each
  aggregation (keyword scores stay those of the default chunks);
- ``--passage title``: each chunk embedded with its document's title (the
  first line of its text, Markdown ``#`` removed) before it, ``"<title>.
  <chunk>"`` (the chunk that opens with the title as it is), at the default
  size or each ``--chunk-tokens``; at the default size also both views
  together, each document's ``max+centroid 1.0`` by its plain chunks and
  by its titled ones averaged;
- ``--passage own``: each chunk embedded without the sentences the set's
  documents repeat (boilerplate: a sentence half or more of whose word
  trigrams occur in at least :data:`REPEATED_IN` documents), a chunk left
  with none of its own not scored, and both views as for ``title``;
- ``contrast λ`` (with ``max+centroid 1.0``, every run): a chunk's
  similarity less λ times that of the chunk of another document nearest
  to it, so a chunk that other documents repeat (a warranty, a footer)
  gains nothing from matching the query as well as its copies do.

Every figure is top-1 over the ``tune`` / ``held`` queries and over the
odd / even query ids.

    .venv/bin/python bench/search_aggregation.py [--language pt] \
        [--chunk-tokens 128 --chunk-tokens 400] [--passage title|own]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from folio_api.domain.search.fusion import language_weights
from folio_api.domain.search.repository import SearchGroup, SearchMode, SearchOptions, search
from folio_shared.db.engine import create_session_factory
from folio_shared.db.enums import DocumentKind
from folio_shared.embedding_models import BY_LANGUAGE
from folio_worker_docs.embeddings.select import Models, deployment_models
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages, model_text
from folio_worker_docs.text.extract import extract_document

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
from _servers import BenchServers, scratch_database
from runner import LANGUAGES, Query, index_documents, load_set, make_tenant, query_vectors

Vectors = npt.NDArray[np.float32]
#: The chunk size search's chunks have (``ChunkingOptions``' default).
DEFAULT_TOKENS = ChunkingOptions().max_tokens
Scores = dict[str, float]
#: ``--passage own``: a sentence is boilerplate when half or more of its word
#: trigrams occur in at least this many of the set's documents.
REPEATED_IN = 3
#: ``contrast λ``: the weights measured.
CONTRAST = (0.1, 0.2, 0.3)


@dataclass
class Indexed:
    queries: list[Query]
    files: list[str]  # each chunk's document
    chunks: Vectors  # one row per chunk
    query_vectors: Vectors  # one row per query, by the chunks' model
    keyword: list[Scores]  # per query: document -> BM25 over the best


def _vector(text: str) -> list[float]:
    return [float(x) for x in text.strip("[]").split(",")]


async def _index(url: str, models: Models, language: str) -> Indexed:
    relevance_set = load_set(language)
    engine = create_async_engine(url)
    options = SearchOptions(language_weights=language_weights(BY_LANGUAGE))
    async with create_session_factory(engine)() as session:
        tenant_id = await make_tenant(session)
        await index_documents(session, models, tenant_id, relevance_set.documents)
        await session.commit()
        rows = (
            await session.execute(
                sa.text(
                    "SELECT d.filename, c.embedding::text, c.model_version FROM chunks c "
                    "JOIN documents d ON d.id = c.document_id WHERE c.tenant_id = :t "
                    "ORDER BY d.filename, c.chunk_index"
                ),
                {"t": tenant_id},
            )
        ).all()
        model = str(rows[0][2]).split("@")[0]
        vectors = query_vectors(models, [q.text for q in relevance_set.queries])
        keyword: list[Scores] = []
        for query, vector in zip(relevance_set.queries, vectors, strict=True):
            hits = await search(
                session,
                tenant_id=tenant_id,
                query_vector=None if isinstance(vector, Mapping) else vector,
                query_vectors=vector if isinstance(vector, Mapping) else None,
                query_text=query.text,
                k=len(relevance_set.documents),
                mode=SearchMode.KEYWORD,
                group=SearchGroup.DOCUMENT,
                options=options,
            )
            keyword.append({h.filename: h.document_score for h in hits})
    await engine.dispose()
    own = [v[model] if isinstance(v, Mapping) else v for v in vectors]
    return Indexed(
        queries=relevance_set.queries,
        files=[str(r[0]) for r in rows],
        chunks=np.array([_vector(str(r[1])) for r in rows], dtype=np.float32),
        query_vectors=np.array(own, dtype=np.float32),
        keyword=keyword,
    )


def _fuse(semantic: Scores, keyword: Scores, w: float) -> Scores:
    if w >= 1:
        return semantic
    low, high = min(semantic.values()), max(semantic.values())
    span = (high - low) or 1.0
    return {
        doc: w * (semantic.get(doc, low) - low) / span + (1 - w) * keyword.get(doc, 0.0)
        for doc in set(semantic) | set(keyword)
    }


def _line(label: str, queries: Sequence[Query], rankings: Sequence[Scores]) -> str:
    hits: dict[str, list[int]] = {}
    for query, scores in zip(queries, rankings, strict=True):
        top = max(scores, key=lambda doc: scores[doc]) if scores else None
        parity = "odd" if int(query.query_id.rsplit("-", 1)[1]) % 2 else "even"
        for split in ("all", query.split, parity):
            hits.setdefault(split, []).append(int(top == query.expected))
    cells = [f"{sum(hits[s]) / len(hits[s]):.1%}" for s in ("all", "tune", "held", "odd", "even")]
    return f"| {label} | " + " | ".join(cells) + " |"


Aggregate = Callable[[Vectors, Vectors], float]  # (chunk sims, centroid sim) -> score


def _with_centroid(beta: float) -> Aggregate:
    def aggregate(sims: Vectors, centroid: Vectors) -> float:
        return float((sims.max() + beta * centroid[0]) / (1 + beta))

    return aggregate


def _aggregations() -> dict[str, Aggregate]:
    out: dict[str, Aggregate] = {"max": lambda s, c: float(s.max())}
    for beta in (0.5, 1.0, 2.0):
        out[f"max+centroid {beta}"] = _with_centroid(beta)
    out["top3"] = lambda s, c: float(np.sort(s)[-3:].mean())
    return out


def _scores(data: Indexed, files: list[str], chunks: Vectors) -> dict[str, list[Scores]]:
    """Per aggregation, per query: document -> semantic score."""
    sims = chunks @ data.query_vectors.T
    documents = sorted(set(files))
    rows = {doc: [i for i, f in enumerate(files) if f == doc] for doc in documents}
    centroids = np.stack([chunks[rows[doc]].mean(axis=0) for doc in documents])
    centroid_sims = centroids @ data.query_vectors.T
    centroid_sims /= np.linalg.norm(centroids, axis=1, keepdims=True)
    out = {
        name: [
            {
                doc: aggregate(sims[rows[doc], q], centroid_sims[j : j + 1, q])
                for j, doc in enumerate(documents)
            }
            for q in range(len(data.queries))
        ]
        for name, aggregate in _aggregations().items()
    }
    nearest = _nearest_elsewhere(files, chunks)
    for lam in CONTRAST:
        contrast = sims - lam * sims[nearest]
        out[f"max+centroid 1.0, contrast {lam}"] = [
            {
                doc: float((contrast[rows[doc], q].max() + centroid_sims[j, q]) / 2)
                for j, doc in enumerate(documents)
            }
            for q in range(len(data.queries))
        ]
    return out


def _nearest_elsewhere(files: list[str], chunks: Vectors) -> npt.NDArray[np.intp]:
    """Per chunk, the index of the most similar chunk of another document."""
    similar = chunks @ chunks.T
    owner = np.asarray(files)
    similar[owner[:, None] == owner[None, :]] = -np.inf
    return np.asarray(similar.argmax(axis=1))


def _print(data: Indexed, weights: Sequence[float], scores: Mapping[str, list[Scores]]) -> None:
    print("| semantic document score | all | tune | held | odd ids | even ids |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, semantic in scores.items():
        for w in weights:
            label = f"{name}, w {w:g}" if w < 1 else f"{name}, semantic alone"
            rankings = [_fuse(s, k, w) for s, k in zip(semantic, data.keyword, strict=True)]
            print(_line(label, data.queries, rankings))


def _table(data: Indexed, weights: Sequence[float], files: list[str], chunks: Vectors) -> None:
    _print(data, weights, _scores(data, files, chunks))


def _two_views(data: Indexed, weights: Sequence[float], files: list[str], chunks: Vectors) -> None:
    """Each document's ``max+centroid 1.0`` by the default chunks and by
    ``chunks`` (the same chunks embedded another way), averaged."""
    name = "max+centroid 1.0"
    plain = _scores(data, data.files, data.chunks)[name]
    other = _scores(data, files, chunks)[name]
    both = [
        {doc: (a[doc] + b.get(doc, a[doc])) / 2 for doc in a}
        for a, b in zip(plain, other, strict=True)
    ]
    _print(data, weights, {f"{name}, both views averaged": both})


def _title(text: str) -> str:
    """The document's first non-empty line, Markdown heading marks removed."""
    lines = (line.strip().lstrip("#").strip() for line in text.splitlines())
    return next((line for line in lines if line), "")


_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def _own_sentences(documents: Mapping[str, str]) -> Callable[[str], str]:
    """A chunk's text without the sentences ``documents`` repeat (see
    :data:`REPEATED_IN`)."""
    holders: dict[tuple[str, ...], int] = {}
    for text in documents.values():
        for gram in _trigrams(text):
            holders[gram] = holders.get(gram, 0) + 1

    def own(text: str) -> str:
        kept = []
        for sentence in filter(str.strip, _SENTENCE.split(text)):
            grams = _trigrams(sentence)
            common = sum(holders.get(g, 0) >= REPEATED_IN for g in grams)
            if grams and common * 2 < len(grams):
                kept.append(sentence)
        return " ".join(kept)

    return own


def _rechunked(
    models: Models, language: str, tokens: int, passage: str
) -> tuple[list[str], Vectors]:
    relevance_set = load_set(language)
    model = models.of(language)
    own = _own_sentences(relevance_set.documents)
    files: list[str] = []
    texts: list[str] = []
    options = ChunkingOptions(max_tokens=tokens, overlap_tokens=min(32, tokens // 2 - 1))
    for filename, markdown in sorted(relevance_set.documents.items()):
        pages = extract_document(DocumentKind.MARKDOWN, markdown.encode()).pages
        title = _title(markdown)
        for chunk in chunk_pages(pages, model.token_spans, options):
            text = model_text(chunk.text)
            if passage == "title" and not text.lstrip("# ").startswith(title):
                text = f"{title}. {text}"
            elif passage == "own":
                text = own(text)
                if not text:
                    continue  # nothing of its own: not scored
            files.append(filename)
            texts.append(text)
    return files, np.asarray(model.encode(texts), dtype=np.float32)


async def run(
    pg_url: str, languages: list[str], weights: list[float], sizes: list[int], passage: str
) -> None:
    models = deployment_models(BY_LANGUAGE)
    async with scratch_database(pg_url, "folio_bench_aggregation") as url:
        for language in languages:
            data = await _index(url, models, language)
            print(f"\n{language}: {len(data.files)} chunks, {len(data.queries)} queries\n")
            _table(data, [*weights, 1.0], data.files, data.chunks)
            for tokens in sizes or ([DEFAULT_TOKENS] if passage != "plain" else []):
                files, chunks = await asyncio.to_thread(
                    _rechunked, models, language, tokens, passage
                )
                print(f"\n{language}, {passage} chunks of {tokens} tokens: {len(files)} chunks\n")
                _table(data, [*weights, 1.0], files, chunks)
                if passage != "plain" and tokens == DEFAULT_TOKENS:
                    print(f"\n{language}, default and {passage} chunks, both views\n")
                    _two_views(data, [*weights, 1.0], files, chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-url", help="superuser URL of a PostgreSQL server with pgvector")
    parser.add_argument("--language", choices=LANGUAGES, action="append")
    parser.add_argument("--semantic-weight", type=float, action="append")
    parser.add_argument("--chunk-tokens", type=int, action="append", default=[])
    parser.add_argument("--passage", choices=("plain", "title", "own"), default="plain")
    args = parser.parse_args()
    languages = args.language or list(LANGUAGES)
    weights = args.semantic_weight or [0.7, 0.8, 0.9, 0.95]
    if args.pg_url:
        asyncio.run(run(args.pg_url, languages, weights, args.chunk_tokens, args.passage))
        return
    with BenchServers() as servers:
        url = servers.postgres.url("postgres")
        asyncio.run(run(url, languages, weights, args.chunk_tokens, args.passage))


if __name__ == "__main__":
    main()
