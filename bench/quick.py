"""``make bench`` and ``make bench-quick``: the benchmarks of Folio's
targets, one after the other, and one table of every target at the end:
the result, the baseline measured in the same run, the ratio (or the bound
a latency must stay under), met or not.

Each benchmark runs as its own process (``bench/<name>.py``; the fault
tests of the last target run as ``make test`` runs tests), so its servers
and models are gone before the next starts; its output is printed as it
goes. ``--full`` (``make bench``) runs every target of the design at full
size; without it (``make bench-quick``, under 5 minutes) the quick
versions of the ratio targets run; ``--soak`` (``make bench-soak``, about
30 minutes) runs the 1,000-document soak alone. The load average of the
machine is printed at the start and with the table: on a shared machine a
ratio moves less than a rate, and the load says how far to trust either.
Exit status 1 when a target is missed.

    .venv/bin/python bench/quick.py [--full | --soak] [--only embedding broker ocr ...]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import _readers as read
from _readers import Row

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


@dataclass(frozen=True)
class Target:
    """One benchmark run: the command, and how to read its rows from its output."""

    name: str
    #: a script of ``bench/`` and its arguments, or ``-m`` and a module's
    argv: list[str]
    #: output -> rows of the table
    read: Callable[[str], list[Row]]


QUICK = [
    Target(
        "embedding", ["embedding_throughput.py", "--chunks", "64", "--rounds", "2"], read.embedding
    ),
    Target(
        "broker",
        [
            "broker_overhead.py",
            *("--systems", "folio", "celery"),
            *("--jobs", "2000", "--processes", "1", "--timeout-s", "120"),
        ],
        read.broker,
    ),
    Target("ocr", ["ocr_throughput.py", "--pages", "4", "--parallel", "2"], read.ocr),
]

#: The main of before the throughput work: the end-to-end documents target
#: (≥ 2 x its one-page-PDF rate) runs it again in the same run as its baseline.
DOCUMENTS_BASELINE_REF = "2b388a4"

#: The fault tests of the last target (0 jobs lost), run as ``make test`` runs them.
FAULT_TESTS = [
    "tests/integration/jobs/test_job_faults.py",
    "tests/integration/api/test_api_redis_down.py",
]

#: ``make bench``: every target of the design, at full size. The figures of
#: the services (the documents run, with each service's memory, and the
#: backlog) come first; the rates last.
FULL = [
    Target(
        "documents",
        [
            "documents_throughput.py",
            *("--one-page", "20", "--twenty-page", "2"),
            *("--baseline-ref", DOCUMENTS_BASELINE_REF, "--all-services"),
        ],
        read.documents,
    ),
    Target("backlog", ["backlog.py", "--jobs", "100000", "--processes", "2"], read.backlog),
    Target("async", ["async_kinds.py", "--jobs", "1000", "--wait-ms", "2000"], read.async_kinds),
    Target(
        "priority", ["priority_latency.py", "--backlog", "10000", "--repeats", "20"], read.priority
    ),
    Target("relevance", ["search_relevance.py"], read.relevance),
    Target("fields", ["fields_overhead.py", "--receipts", "20"], read.fields),
    Target("fields-accuracy", ["fields_accuracy.py", "pdf", "scan", "photo"], read.fields_accuracy),
    Target(
        "faults",
        [
            *("-m", "folio_devstack", "test", "--"),
            *("-q", "-p", "no:cacheprovider", "-m", "not long", *FAULT_TESTS),
            f"--basetemp={tempfile.gettempdir()}/folio-bench-faults-{os.getpid()}",
        ],
        read.faults,
    ),
    Target("ocr", ["ocr_throughput.py", "--pages", "20", "--parallel", "2"], read.ocr),
    Target(
        "embedding", ["embedding_throughput.py", "--chunks", "100", "--rounds", "3"], read.embedding
    ),
    Target(
        "broker",
        [
            "broker_overhead.py",
            *("--systems", "folio", "folio-async", "dramatiq", "celery", "rq"),
            *("--jobs", "5000", "--processes", "1", "2", "--timeout-s", "900"),
        ],
        read.broker,
    ),
    Target(
        "broker-fsync",
        [
            "broker_overhead.py",
            *("--fsync", "--systems", "folio", "celery"),
            *("--jobs", "5000", "--processes", "1", "2", "--timeout-s", "900"),
        ],
        read.broker_fsync,
    ),
    Target("search", ["search_latency.py"], read.search),
    Target("api", ["api_process.py", "--duration-s", "10"], read.api),
]

#: ``make bench-soak`` (about 30 minutes on its own): one worker-docs over
#: 1,000 documents, its memory growth after warm-up.
SOAK = [
    Target(
        "soak",
        ["soak_docs.py", "--documents", "1000", "--batch", "50", "--warm-up", "100"],
        read.soak,
    )
]


def run(target: Target) -> list[list[str]]:
    """Run ``target``'s benchmark; its rows of the table."""
    print(f"== {target.name}: {' '.join(target.argv)}", flush=True)
    started = time.monotonic()
    script = (
        target.argv if target.argv[0] == "-m" else [str(BENCH / target.argv[0]), *target.argv[1:]]
    )
    lines: list[str] = []
    with subprocess.Popen(
        [sys.executable, *script],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                print(line, end="", flush=True)
                lines.append(line)
        except KeyboardInterrupt:
            # stopped: the benchmark stops its own servers on SIGINT
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=120)
            raise
    out = "".join(lines)
    took = f"{time.monotonic() - started:.0f} s"
    try:
        rows = target.read(out)
    except (ValueError, KeyError):
        rows = []
    if proc.returncode and not any(any(c.isdigit() for c in row[1]) for row in rows):
        rows = []  # it failed before measuring anything ("nan" rows)
    if not rows:
        why = lines[-1].strip() if lines else ""
        result = f"no result (exit {proc.returncode})" + (f": {why}" if why else "")
        return [[target.name, result, "-", "-", "error", took]]
    verdict = {True: "met", False: "missed", None: "reported"}
    return [
        [what, result, base, ratio, verdict[met], took] for what, result, base, ratio, met in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="every target at full size (make bench)")
    size.add_argument(
        "--soak", action="store_true", help="the 1,000-document soak (make bench-soak)"
    )
    names = sorted({t.name for t in QUICK + FULL + SOAK})
    parser.add_argument("--only", nargs="+", choices=names)
    args = parser.parse_args()
    targets = SOAK if args.soak else FULL if args.full else QUICK
    began = time.monotonic()
    print(f"load average at the start (1, 5, 15 min): {_load()}", flush=True)
    rows: list[list[str]] = []
    chosen = [t for t in targets if args.only is None or t.name in args.only]
    for i, target in enumerate(chosen):
        try:
            rows += run(target)
        except KeyboardInterrupt:
            left = ", ".join(t.name for t in chosen[i:])
            rows.append([f"stopped (SIGINT); not run: {left}", "-", "-", "-", "not run", "-"])
            break
    header = ["target", "result", "baseline (same run)", "ratio or bound", "met", "time"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nload average at the end (1, 5, 15 min): {_load()}; {os.cpu_count()} cores")
    print(f"{time.monotonic() - began:.0f} s in all")
    sys.exit(0 if all(row[4] in ("met", "reported") for row in rows) else 1)


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
