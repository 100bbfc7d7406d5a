"""Soak: one worker-docs process handles 1,000 documents; does its memory grow?

Starts a private Redis and PostgreSQL (see :mod:`_servers`) and ONE real
worker-docs (``folio_worker_docs.main`` under Folio's supervisor, ``-p 1``),
then submits ``--documents`` text PDFs of 1 to 3 pages (distinct text, so
every chunk is embedded) the way the API does (bytes stored, rows and the
``ProcessDocumentV1`` through the outbox), in batches of ``--batch``, each
batch waited for (every document ``ready``) before the next.

Memory: the resident set (RSS, from ``/proc``) of the worker's whole process
tree (the supervisor, Dramatiq's main process, the worker process and its
isolated extraction child, which is replaced every 50 tasks) is sampled
every ``--sample-s`` seconds and after each batch. The figure judged is the
tree's RSS after the batch that ends the warm-up (``--warm-up`` documents:
model loaded, pools and caches filled) against the RSS after the last
batch: growth = (last - warm) / warm. The target is < 10 %. The worker
process alone is reported the same way (a leak there is hidden by nothing).

Prints one line per batch (documents done, seconds, tree and worker RSS in
MiB), then a Markdown table. Loopback only; each batch is bounded by
``--timeout-s``; the worker and the servers are stopped at the end. Linux
only (``/proc``).

    .venv/bin/python bench/soak_docs.py [--documents 1000] [--batch 50] [--warm-up 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _servers import BenchServers
from documents_throughput import (
    close_client,
    docs_worker,
    make_pdf,
    open_client,
    submit,
    wait_final,
)

from folio_shared.settings import FolioSettings

MIB = 1024 * 1024


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids, for every process of this machine."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(root: int) -> dict[int, int]:
    """RSS in bytes of ``root`` and every descendant, by pid."""
    tree = _children()
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        found[pid] = _rss(pid)
        todo.extend(tree.get(pid, []))
    return found


def worker_pid(root: int) -> int | None:
    """The Dramatiq worker process: the descendant with the largest RSS."""
    sizes = tree_rss(root)
    sizes.pop(root, None)
    return max(sizes, key=lambda p: sizes[p]) if sizes else None


@dataclass
class Sampler:
    """Samples the tree's RSS in a thread of its own every ``period_s``."""

    root: int
    period_s: float
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, name="rss-sampler", daemon=True).start()

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self.period_s):
            self.samples.append((time.monotonic() - started, sum(tree_rss(self.root).values())))

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Point:
    done: int
    seconds: float
    tree: int
    worker: int
    processes: int


async def run(args: argparse.Namespace, settings: FolioSettings, root: Path) -> None:
    run_id = uuid.uuid4().hex[:8]
    client = await open_client(settings, f"soak-{run_id}")
    worker = docs_worker(settings, root, args.threads, args.document_runtime)
    sampler = Sampler(worker.proc.pid, args.sample_s)
    sampler.start()
    points: list[Point] = []
    started = time.monotonic()
    try:
        done = 0
        while done < args.documents:
            size = min(args.batch, args.documents - done)
            pdfs = [make_pdf(1 + (done + i) % 3, f"{run_id}-{done + i}") for i in range(size)]
            ids = [await submit(client, data) for data in pdfs]
            await wait_final(client.engine, ids, worker, args.timeout_s)
            done += size
            sizes = tree_rss(worker.proc.pid)
            pid = worker_pid(worker.proc.pid)
            point = Point(
                done,
                time.monotonic() - started,
                sum(sizes.values()),
                sizes.get(pid, 0) if pid else 0,
                len(sizes),
            )
            points.append(point)
            print(
                f"{point.done:5d} documents  {point.seconds:7.1f} s"
                f"  tree {point.tree / MIB:7.1f} MiB  worker {point.worker / MIB:7.1f} MiB"
                f"  ({point.processes} processes)",
                flush=True,
            )
    finally:
        sampler.stop()
        worker.close()
        await close_client(client)

    warm = next((p for p in points if p.done >= args.warm_up), points[0])
    last = points[-1]
    after = [p for p in points if p.done >= warm.done]
    peak_tree = max(p.tree for p in after)
    sampled_peak = max((rss for _, rss in sampler.samples), default=0)
    print()
    print("| measure | after warm-up | at the end | growth | peak after warm-up |")
    print("|---|---:|---:|---:|---:|")
    for name, a, b, peak in (
        ("worker tree RSS (MiB)", warm.tree, last.tree, max(peak_tree, sampled_peak)),
        ("worker process RSS (MiB)", warm.worker, last.worker, max(p.worker for p in after)),
    ):
        growth = (b - a) / a * 100 if a else float("nan")
        print(f"| {name} | {a / MIB:.1f} | {b / MIB:.1f} | {growth:+.1f} % | {peak / MIB:.1f} |")
    print(
        f"\n{last.done} documents in {last.seconds:.0f} s; warm-up = the first {warm.done}; "
        f"{len(sampler.samples)} samples every {args.sample_s} s"
    )
    growth = (last.tree - warm.tree) / warm.tree * 100
    print(f"target < 10 % growth after warm-up: {'met' if growth < 10 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000, help="documents (default 1000)")
    parser.add_argument("--batch", type=int, default=50, help="documents per batch (default 50)")
    parser.add_argument("--warm-up", type=int, default=100, help="warm-up documents (default 100)")
    parser.add_argument("--sample-s", type=float, default=2.0, help="RSS sampling period (2 s)")
    parser.add_argument("--threads", type=int, default=2, help="worker threads (default 2)")
    parser.add_argument(
        "--document-runtime",
        choices=("auto", "bf16", "onnx", "int8", "torch"),
        default="auto",
        help="how the worker embeds chunks (default auto, the worker's default)",
    )
    parser.add_argument("--timeout-s", type=float, default=900, help="bound of a batch (900)")
    args = parser.parse_args()
    with BenchServers() as servers:
        asyncio.run(run(args, servers.folio_settings(), servers.root))


if __name__ == "__main__":
    main()
