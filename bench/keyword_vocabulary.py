"""Keyword search with the query's words expanded by the tenant's own vocabulary.

Measures keyword search alone (``mode=keyword``) on Folio's relevance sets
as it is and with words added to each query (``search(expansions=...)``,
weighed ``SearchOptions.expansion_weight`` of a query word), from two
sources, both built from the tenant's documents and the embedding model of
their language (multilingual-e5-small for Portuguese, all-MiniLM-L6-v2 for
English, as ``by-language`` embeds queries):

- ``query``: the ``K`` words of the tenant's documents whose vectors (each
  word embedded alone, as a query is) are nearest the query's vector,
  leaving out words the query holds;
- ``words``: for each query word the documents do not hold, the ``K``
  nearest words of the documents with cosine at least ``--tau``;
- ``thesaurus``: for each query word the documents do not hold, the first
  ``K`` one-word synonyms of a MyThes thesaurus (``--thesaurus LANG=FILE``,
  e.g. Debian's ``mythes-pt-br`` ``/usr/share/mythes/th_pt_BR.dat``) that
  the documents hold.

Chunks are stored with random vectors: keyword search reads none, and
embedding every chunk with e5 takes ~10 minutes on this machine. Chunking is
the worker's (the real models' tokenizers). Prints top-1 and MRR@5 per set
for all queries and for the odd and even query ids (tune on one half, check
on the other).

    .venv/bin/python bench/keyword_vocabulary.py [--source query --source words] \
        [--k 5 --k 8] [--weight 0.3 --weight 0.5] [--tau 0.9]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from folio_api.domain.search.repository import SearchGroup, SearchMode, SearchOptions, search
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import EMBEDDING_DIMENSIONS
from folio_shared.language import function_words
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import Models, deployment_models

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
from _servers import BenchServers, scratch_database
from runner import LANGUAGES, Query, index_documents, load_set, make_tenant, parity

WORD = re.compile(r"[^\W\d_]{3,}")
Expander = Callable[[Query], list[str]]


class _RandomVectors:
    """An embedder that chunks like ``model`` and stores random unit vectors."""

    def __init__(self, model: Embedder) -> None:
        self.model_version = model.model_version
        self.token_spans = model.token_spans
        self._rng = np.random.default_rng(7)

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        v = self._rng.standard_normal((len(texts), EMBEDDING_DIMENSIONS))
        return [list(map(float, row)) for row in v / np.linalg.norm(v, axis=1, keepdims=True)]


class _Chunking(Models):
    def of(self, language: str | None) -> Embedder:
        return _RandomVectors(super().of(language))  # type: ignore[return-value]


def _words(text: str, language: str) -> list[str]:
    stop = function_words(language)
    return [w for w in (m.lower() for m in WORD.findall(text)) if w not in stop]


class Vocabulary:
    """A set's document words and their vectors by its language's model."""

    def __init__(self, model: Embedder, documents: Sequence[str], language: str) -> None:
        self.language = language
        self.model = model
        self.words = sorted({w for text in documents for w in _words(text, language)})
        started = time.perf_counter()
        self.vectors = self.embed(self.words)
        print(
            f"{language}: {len(self.words)} document words embedded by {model.model_version} "
            f"in {time.perf_counter() - started:.0f} s"
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.model.encode_query(t) for t in texts], dtype=np.float32)

    def by_query(self, k: int) -> Expander:
        def expand(query: Query) -> list[str]:
            own = set(_words(query.text, self.language))
            sims = self.vectors @ self.embed([query.text])[0]
            ranked = (self.words[j] for j in np.argsort(-sims))
            return [w for w in ranked if w not in own][:k]

        return expand

    def by_words(self, k: int, tau: float) -> Expander:
        held = set(self.words)

        def expand(query: Query) -> list[str]:
            own = _words(query.text, self.language)
            out: list[str] = []
            for word in (w for w in own if w not in held):
                sims = self.vectors @ self.embed([word])[0]
                near = [self.words[j] for j in np.argsort(-sims)[:k] if sims[j] >= tau]
                out += [w for w in near if w not in own and w not in out]
            return out

        return expand

    def by_thesaurus(self, k: int, path: Path) -> Expander:
        held = set(self.words)
        synonyms = _mythes(path)

        def expand(query: Query) -> list[str]:
            own = _words(query.text, self.language)
            out: list[str] = []
            for word in (w for w in own if w not in held):
                near = [s for s in synonyms.get(word, []) if s in held and s not in own]
                out += [w for w in near[:k] if w not in out]
            return out

        return expand


def _mythes(path: Path) -> dict[str, list[str]]:
    """word -> its one-word synonyms, senses in order (MyThes ``.dat``)."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    out: dict[str, list[str]] = {}
    i = 1
    while i < len(lines):
        head, _, count = lines[i].rpartition("|")
        i += 1
        if not head or not count.isdigit():
            continue
        senses = lines[i : i + int(count)]
        i += int(count)
        words = [w.lower() for line in senses for w in line.split("|")[1:] if " " not in w]
        out.setdefault(head.lower(), []).extend(w for w in words if w and w != head.lower())
    return out


async def _figures(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    queries: Sequence[Query],
    expansions: Sequence[Sequence[str]],
    options: SearchOptions,
) -> dict[str, tuple[float, float]]:
    """split -> (top-1, MRR@5) of keyword search alone."""
    counts: dict[str, list[float]] = {}
    for query, extra in zip(queries, expansions, strict=True):
        hits = await search(
            session, tenant_id=tenant_id, query_vector=None, query_text=query.text, k=10,
            mode=SearchMode.KEYWORD, group=SearchGroup.DOCUMENT, options=options,
            expansions=extra,
        )  # fmt: skip
        ranking = list(dict.fromkeys(hit.filename for hit in hits))
        rank = ranking.index(query.expected) + 1 if query.expected in ranking else None
        for split in ("all", parity(query)):
            c = counts.setdefault(split, [0, 0.0, 0.0])
            c[0] += 1
            c[1] += rank == 1
            c[2] += 1 / rank if rank is not None and rank <= 5 else 0.0
    return {split: (c[1] / c[0], c[2] / c[0]) for split, c in counts.items()}


def _row(label: str, figures: dict[str, tuple[float, float]]) -> str:
    cells = [f"{figures[s][0]:.1%}" for s in ("all", "odd", "even")]
    return f"| {label} | {' | '.join(cells)} | {figures['all'][1]:.3f} |"


async def run(pg_url: str, args: argparse.Namespace) -> None:
    models = deployment_models("by-language")
    for embedder in (models.default, *models.by_language.values()):
        embedder.use_onnx_for_queries()
    chunking = _Chunking(models.default, models.by_language)
    thesauri = {
        lang: Path(file) for lang, _, file in (t.partition("=") for t in args.thesaurus or [])
    }
    async with scratch_database(pg_url, "folio_bench_vocabulary") as url:
        engine = create_async_engine(url)
        factory = create_session_factory(engine)
        for language in args.language or LANGUAGES:
            relevance_set = load_set(language)
            async with factory() as session:
                tenant_id = await make_tenant(session)
                await index_documents(session, chunking, tenant_id, relevance_set.documents)
                await session.commit()
                vocabulary = Vocabulary(
                    models.of(language), list(relevance_set.documents.values()), language
                )
                queries = relevance_set.queries
                print(f"\n| {language} | top-1 | odd | even | MRR@5 |\n|---|---:|---:|---:|---:|")
                none: list[list[str]] = [[] for _ in queries]
                plain = await _figures(session, tenant_id, queries, none, SearchOptions())
                print(_row("as is", plain))
                for source in args.source or ["query"]:
                    for k in args.k or [5, 8]:
                        if source == "query":
                            expander = vocabulary.by_query(k)
                        elif source == "words":
                            expander = vocabulary.by_words(k, args.tau)
                        elif language in thesauri:
                            expander = vocabulary.by_thesaurus(k, thesauri[language])
                        else:
                            continue
                        extra = [expander(q) for q in queries]
                        for weight in args.weight or [0.3, 0.5]:
                            options = SearchOptions(expansion_weight=weight)
                            figures = await _figures(session, tenant_id, queries, extra, options)
                            print(_row(f"{source}, K {k}, weight {weight}", figures))
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-url", help="superuser URL of a PostgreSQL with pgvector")
    parser.add_argument("--language", choices=LANGUAGES, action="append")
    parser.add_argument("--source", choices=("query", "words", "thesaurus"), action="append")
    parser.add_argument("--thesaurus", action="append", metavar="LANG=FILE")
    parser.add_argument("--k", type=int, action="append", help="words added (per query word)")
    parser.add_argument("--weight", type=float, action="append")
    parser.add_argument("--tau", type=float, default=0.9, help="least cosine (source words)")
    args = parser.parse_args()
    if args.pg_url:
        asyncio.run(run(args.pg_url, args))
        return
    with BenchServers() as servers:
        asyncio.run(run(servers.postgres.url("postgres"), args))


if __name__ == "__main__":
    main()
