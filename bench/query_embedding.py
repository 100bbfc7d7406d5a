"""Query embedding as the API waits for it: ``queries.embed`` messages
answered by a real worker-docs over Redis.

Starts its own Redis and PostgreSQL and one worker-docs process (the query
lane's two threads) per ``FOLIO_PIPELINE_EMBEDDING_MODEL``, warms it (under
``by-language`` both models), then for each of ``--queries`` English and
Portuguese queries of Folio's relevance sets times, interleaved:

- ``all-MiniLM-L6-v2`` worker: one message (the one-model deployment);
- ``by-language`` worker, ``both``: one message per model, both sent before
  either is awaited (what the API did before it embedded only the model a
  query needs);
- ``by-language`` worker, ``needed``: one message, by the query language's
  model (all-MiniLM-L6-v2 for English, multilingual-e5-small for
  Portuguese), what the API sends now for a tenant holding that model's
  chunks.

Prints p50 / p95 of the wall time from the first send to the last vector.

    .venv/bin/python bench/query_embedding.py [--queries 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from _servers import BenchServers

from folio_api.domain.search.queries import QueryTimeout, embed_queries, results_backend
from folio_devstack.workers import WorkerProcess, worker_env
from folio_shared.broker import create_broker
from folio_shared.embedding_models import BY_LANGUAGE, DEFAULT_MODEL, LANGUAGE_MODELS
from folio_shared.messages import Queue, physical_queue_names
from folio_shared.settings import FolioSettings

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
from runner import load_set

E5 = LANGUAGE_MODELS["pt"]
QUEUES = [
    name
    for q in (Queue.DOCUMENTS, Queue.DOCUMENTS_LARGE, Queue.QUERIES, Queue.WEBHOOKS)
    for name in physical_queue_names(q)
]
#: (label, worker setting, models per query language)
CASES: list[tuple[str, str, dict[str, tuple[str | None, ...]]]] = [
    ("all-MiniLM-L6-v2", DEFAULT_MODEL, {"en": (None,), "pt": (None,)}),
    ("by-language, both", BY_LANGUAGE, {"en": (DEFAULT_MODEL, E5), "pt": (DEFAULT_MODEL, E5)}),
    ("by-language, needed", BY_LANGUAGE, {"en": (DEFAULT_MODEL,), "pt": (E5,)}),
]


def _settings(base: FolioSettings, setting: str) -> FolioSettings:
    pipeline = base.pipeline.model_copy(update={"embedding_model": setting})
    broker = base.broker.model_copy(update={"namespace": f"{base.broker.namespace}-{setting}"})
    return base.model_copy(update={"pipeline": pipeline, "broker": broker})


def _warm(settings: FolioSettings, models: Sequence[str | None]) -> None:
    broker = create_broker(settings)
    backend = results_backend(settings.redis.url)
    deadline = time.monotonic() + 300
    for model in models:
        while True:
            try:
                embed_queries(
                    broker, "warm up", [model], tenant_id="bench", timeout_ms=30_000,
                    backend=backend,
                )  # fmt: skip
                break
            except QueryTimeout:
                if time.monotonic() > deadline:
                    raise


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=60, help="queries per language")
    args = parser.parse_args()
    texts = {
        lang: [q.text for q in load_set(lang).queries][: args.queries] for lang in ("en", "pt")
    }
    with BenchServers() as servers:
        base = servers.folio_settings()
        procs: list[WorkerProcess] = []
        try:
            for setting in (DEFAULT_MODEL, BY_LANGUAGE):
                settings = _settings(base, setting)
                argv = ["folio_worker_docs.main", "--processes", "1", "--threads", "1"]
                log = servers.root / f"worker-docs-{setting}.log"
                procs.append(WorkerProcess([*argv, "--queues", *QUEUES], worker_env(settings), log))
            _warm(_settings(base, DEFAULT_MODEL), [None])
            _warm(_settings(base, BY_LANGUAGE), [DEFAULT_MODEL, E5])
            brokers = {s: create_broker(_settings(base, s)) for s in (DEFAULT_MODEL, BY_LANGUAGE)}
            backend = results_backend(base.redis.url)
            times: dict[tuple[str, str], list[float]] = {}
            for lang, queries in texts.items():
                for text in queries:
                    for label, setting, models in CASES:
                        started = time.perf_counter()
                        embed_queries(
                            brokers[setting], text, models[lang], tenant_id="bench",
                            timeout_ms=30_000, backend=backend,
                        )  # fmt: skip
                        elapsed = (time.perf_counter() - started) * 1000
                        times.setdefault((label, lang), []).append(elapsed)
        finally:
            for proc in procs:
                proc.kill()
                proc.close()
    print("| worker, messages | query | n | p50 ms | p95 ms |")
    print("|---|---|---:|---:|---:|")
    for (label, lang), values in times.items():
        print(f"| {label} | {lang} | {len(values)} | {_p(values, 50):.1f} | {_p(values, 95):.1f} |")


if __name__ == "__main__":
    main()
