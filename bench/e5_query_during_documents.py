"""A Portuguese search query's embedding while worker-docs embeds
Portuguese documents: multilingual-e5-small, in one process, as under the
default ``by-language`` deployment.

worker-docs embeds a document's chunks in batches of 64 and a search
query alone; both go to the same model. This measures, in one child
process per code version:

- ``quiet``: a query's embedding (``encode_query``) with nothing else
  running;
- ``busy``: the same while another thread embeds the relevance set's
  Portuguese chunks in batches (``encode``), one query every
  ``--interval`` ms;
- the chunks embedded per second meanwhile.

Each round runs the code of ``--baseline-ref`` (a git worktree of it, its
sources first on ``PYTHONPATH``) and this tree's, alternated, so the two
compare on the same machine in the same period.

    .venv/bin/python bench/e5_query_during_documents.py [--baseline-ref main] \
        [--rounds 2] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ["shared/src", "services/worker-docs/src"]
MODEL = "multilingual-e5-small"
#: Words per chunk: about the 254 all-MiniLM-L6-v2 tokens chunks are cut at.
CHUNK_WORDS = 180


def _texts() -> tuple[list[str], list[str]]:
    folder = REPO / "tests" / "relevance" / "pt"
    chunks = []
    for path in sorted(folder.glob("*.md")):
        words = path.read_text().split()
        chunks += [" ".join(words[i : i + CHUNK_WORDS]) for i in range(0, len(words), CHUNK_WORDS)]
    lines = (folder / "queries.tsv").read_text().splitlines()[1:]
    queries = [line.split("\t", 3)[3] for line in lines if line.strip()]
    return chunks, queries


def _pcts(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(values),
        "p50": statistics.median(values),
        "p95": p95,
        "max": ordered[-1],
    }


def child(seconds: float, interval_ms: float) -> dict[str, object]:
    """One code version's figures (runs in a child process)."""
    from folio_worker_docs.embeddings.e5 import load_e5

    chunks, queries = _texts()
    embedder = load_e5(MODEL)
    embedder.encode(chunks[:8])
    quiet = []
    for query in queries[:30]:
        start = time.perf_counter()
        embedder.encode_query(query)
        quiet.append((time.perf_counter() - start) * 1000)
    stop = threading.Event()
    embedded = [0]

    def documents() -> None:
        offset = 0
        while not stop.is_set():
            batch = [chunks[(offset + i) % len(chunks)] for i in range(embedder.batch_size)]
            embedder.encode(batch)
            embedded[0] += len(batch)
            offset += len(batch)

    worker = threading.Thread(target=documents, daemon=True)
    busy = []
    began = time.perf_counter()
    worker.start()
    time.sleep(1.0)  # the first batch is under way
    n = 0
    while time.perf_counter() - began < seconds:
        start = time.perf_counter()
        embedder.encode_query(queries[n % len(queries)])
        busy.append((time.perf_counter() - start) * 1000)
        n += 1
        time.sleep(interval_ms / 1000)
    stop.set()
    worker.join()
    elapsed = time.perf_counter() - began
    return {
        "quiet": _pcts(quiet),
        "busy": _pcts(busy),
        "chunks_per_s": embedded[0] / elapsed,
    }


def _run(tree: Path, args: argparse.Namespace) -> dict[str, object]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(tree / s) for s in SOURCES)
    env.setdefault("HF_HUB_OFFLINE", "1")
    argv = [sys.executable, str(Path(__file__).resolve()), "--child"]
    argv += ["--seconds", str(args.seconds), "--interval", str(args.interval)]
    out = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _row(name: str, result: dict[str, object]) -> str:
    quiet, busy = result["quiet"], result["busy"]
    assert isinstance(quiet, dict)
    assert isinstance(busy, dict)
    return (
        f"| {name} | {quiet['p50']:.1f} | {quiet['p95']:.1f} | {busy['n']} | {busy['p50']:.1f} "
        f"| {busy['p95']:.1f} | {busy['max']:.1f} | {result['chunks_per_s']:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-ref", default="main")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=150.0, help="ms between queries")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.seconds, args.interval)))
        return
    base = Path(tempfile.mkdtemp(prefix="folio-bench-e5-")) / "tree"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base), args.baseline_ref],
        check=True,
    )
    try:
        print(
            "| code | quiet p50 ms | quiet p95 ms | busy queries | busy p50 ms | busy p95 ms "
            "| busy max ms | chunks/s |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for _ in range(args.rounds):
            print(_row(args.baseline_ref, _run(base, args)), flush=True)
            print(_row("this tree", _run(REPO, args)), flush=True)
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False
        )


if __name__ == "__main__":
    main()
