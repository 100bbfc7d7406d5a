"""``make bench-quick``: the quick versions of the benchmarks with a ratio
target, one after the other, and one table of every target at the end:
the result, the baseline measured in the same run, the ratio, met or not.

Each benchmark runs as its own process (``bench/<name>.py`` with fewer
chunks, pages or jobs than ``make bench``), so its servers and models are
gone before the next starts; its output is printed as it goes. The load
average of the machine is printed with the table: on a shared machine a
ratio moves less than a rate, and the load says how far to trust either.

    .venv/bin/python bench/quick.py [--only embedding broker ocr]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Target:
    """One target: the command, and how to read result and baseline from its output."""

    name: str
    description: str
    argv: list[str]
    #: output -> (result, baseline, ratio) as text and the ratio as a number
    read: Callable[[str], tuple[str, str, float]]
    minimum: float


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise ValueError(f"no match for {pattern!r}")
    return float(match.group(1).replace(",", ""))


def _embedding(out: str) -> tuple[str, str, float]:
    folio = _number(r"folio Embedder\.encode.*?([\d.]+) chunks/s", out)
    plain = _number(r"plain sentence-transformers encode:\s+([\d.]+)", out)
    return f"{folio:.1f} chunks/s", f"{plain:.1f} chunks/s", folio / plain


def _broker(out: str) -> tuple[str, str, float]:
    folio = _number(r"^\s+folio x1: ([\d,]+) jobs/s", out)
    celery = _number(r"^\s+celery x1: ([\d,]+) jobs/s", out)
    return f"{folio:,.0f} jobs/s", f"celery {celery:,.0f} jobs/s", folio / celery


def _ocr(out: str) -> tuple[str, str, float]:
    folio = _number(r"^folio OcrPool\s+\d+\s+[\d.]+\s+([\d.]+)", out)
    cli = _number(r"^tesseract CLI\s+\d+\s+[\d.]+\s+([\d.]+)", out)
    return f"{folio:.1f} pages/min", f"tesseract {cli:.1f} pages/min", folio / cli


TARGETS = [
    Target(
        "embedding",
        "document embedding vs plain sentence-transformers encode",
        ["embedding_throughput.py", "--chunks", "64", "--rounds", "3"],
        _embedding,
        1.5,
    ),
    Target(
        "broker",
        "tracked no-op jobs vs raw Celery (threads), 1 process",
        [
            "broker_overhead.py",
            *("--systems", "folio", "celery"),
            *("--jobs", "2000", "--processes", "1", "--timeout-s", "120"),
        ],
        _broker,
        1.0,
    ),
    Target(
        "ocr",
        "OCR pool vs the tesseract command",
        ["ocr_throughput.py", "--pages", "4", "--parallel", "2"],
        _ocr,
        0.9,
    ),
]


def run(target: Target) -> list[str]:
    """Run ``target``'s benchmark; its row of the table."""
    print(f"== {target.name}: {' '.join(target.argv)}", flush=True)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(BENCH / target.argv[0]), *target.argv[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    print(proc.stdout, flush=True)
    took = f"{time.monotonic() - started:.0f} s"
    try:
        result, baseline, ratio = target.read(proc.stdout)
    except ValueError:
        return [target.description, f"no result (exit {proc.returncode})", "-", "-", "error", took]
    verdict = "met" if ratio >= target.minimum else "missed"
    return [
        target.description,
        result,
        baseline,
        f"{ratio:.2f} (≥ {target.minimum})",
        verdict,
        took,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=[t.name for t in TARGETS])
    args = parser.parse_args()
    rows = [run(t) for t in TARGETS if args.only is None or t.name in args.only]
    header = ["target", "result", "baseline (same run)", "ratio", "met", "time"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average (1, 5, 15 min): {load}; {os.cpu_count()} cores")
    sys.exit(0 if all(row[4] == "met" for row in rows) else 1)


if __name__ == "__main__":
    main()
