"""``make bench`` and ``make bench-quick``: the benchmarks of Folio's
targets, one after the other, and one table of every target at the end:
the result, the baseline measured in the same run, the ratio (or the bound
a latency must stay under), met or not.

Each benchmark runs as its own process (``bench/<name>.py``), so its
servers and models are gone before the next starts; its output is printed
as it goes. ``--full`` (``make bench``, about 90 minutes) runs every target of
the design at full size; without it (``make bench-quick``, under 5 minutes)
the quick versions of the ratio targets run. The load average of the machine
is printed with the table: on a shared machine a ratio moves less than a
rate, and the load says how far to trust either. Exit status 1 when a
target is missed.

    .venv/bin/python bench/quick.py [--full] [--only embedding broker ocr ...]
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


#: One row of the table: what, result, baseline, ratio (or how the result
#: compares with its bound), met (None: reported, no target).
Row = tuple[str, str, str, str, bool | None]


@dataclass(frozen=True)
class Target:
    """One benchmark run: the command, and how to read its rows from its output."""

    name: str
    argv: list[str]
    #: output -> rows of the table
    read: Callable[[str], list[Row]]


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise ValueError(f"no match for {pattern!r}")
    return float(match.group(1).replace(",", ""))


def _at_least(
    what: str, result: float, base: float, minimum: float, unit: str, fmt: str = ",.1f"
) -> Row:
    ratio = result / base
    return (
        what,
        f"{result:{fmt}} {unit}",
        f"{base:{fmt}} {unit}",
        f"{ratio:.2f} (≥ {minimum})",
        ratio >= minimum,
    )


def _at_most(what: str, result: float, bound: float, unit: str, base: str = "-") -> Row:
    return (what, f"{result:,.1f} {unit}", base, f"≤ {bound:g} {unit}", result <= bound)


def _embedding(out: str) -> list[Row]:
    folio = _number(r"folio Embedder\.encode.*?([\d.]+) chunks/s", out)
    plain = _number(r"plain sentence-transformers encode:\s+([\d.]+)", out)
    what = "document embedding vs plain sentence-transformers encode"
    return [_at_least(what, folio, plain, 1.5, "chunks/s")]


def _broker_rows(out: str, note: str) -> list[Row]:
    def rate(system: str, processes: int) -> float:
        return _number(rf"^\| {system} \| {processes} \| [\d,]+ \| [\d.]+ \| ([\d,]+) \|", out)

    rows = []
    for n in (1, 2):
        if re.search(rf"^\| folio \| {n} \|", out, re.MULTILINE):
            what = f"tracked no-op jobs vs raw Celery (threads), {n} process(es){note}"
            rows.append(_at_least(what, rate("folio", n), rate("celery", n), 1.0, "jobs/s"))
    if len(rows) == 2:
        what = f"tracked no-op jobs, 2 processes vs 1{note}"
        rows.append(_at_least(what, rate("folio", 2), rate("folio", 1), 1.8, "jobs/s"))
    return rows


def _broker(out: str) -> list[Row]:
    return _broker_rows(out, "")


def _broker_fsync(out: str) -> list[Row]:
    return _broker_rows(out, ", PostgreSQL fsync on")


def _ocr(out: str) -> list[Row]:
    folio = _number(r"^folio OcrPool\s+\d+\s+[\d.]+\s+([\d.]+)", out)
    cli = _number(r"^tesseract CLI\s+\d+\s+[\d.]+\s+([\d.]+)", out)
    return [_at_least("OCR pool vs the tesseract command", folio, cli, 0.9, "pages/min")]


def _documents(out: str) -> list[Row]:
    # the baseline's own table comes first: this run's row is the last one
    rates = re.findall(r"^\| 1-page PDF \| \d+ \| \d+ \| [\d.]+ \| ([\d.]+) \|", out, re.M)
    if not rates:
        raise ValueError("no one-page figure")
    rate = float(rates[-1])
    rows: list[Row] = []
    match = re.search(r"^baseline 1-page PDF docs/s: ([\d.]+)", out, re.MULTILINE)
    what = "one-page text PDFs end to end, one worker-docs process"
    if match:
        rows.append(_at_least(what, rate, float(match.group(1)), 2.0, "docs/s", ".2f"))
    else:
        rows.append((what, f"{rate:.2f} docs/s", "no baseline in this run", "-", None))
    for service, peak in re.findall(r"^peak RSS (\S+): ([\d.]+) MiB", out, re.MULTILINE):
        rows.append(
            (f"peak RSS of {service} during the documents run", f"{peak} MiB", "-", "-", None)
        )
    return rows


def _fields(out: str) -> list[Row]:
    share = _number(r"^\| fields stage \(upper bound\) \|.*\| ([\d.]+)% \|$", out)
    what = "field extraction's share of a one-page receipt's upload → ready"
    return [_at_most(what, share, 10.0, "%")]


def _search(out: str) -> list[Row]:
    total = _number(r"^\| \*\*total: embedding \+ hybrid search\*\* \| [\d.]+ \| ([\d.]+) \|", out)
    bare = _number(r"^\| baseline: bare pgvector[^|]*\| [\d.]+ \| ([\d.]+) \|", out)
    what = "search p95 over 100,000 chunks, query embedding included"
    return [_at_most(what, total, 50.0, "ms", f"bare pgvector top-10 p95 {bare:.1f} ms")]


def _priority(out: str) -> list[Row]:
    p95 = _number(r"^\| critical \| \d+ \| [\d,]+ \| [\d,.]+ \| ([\d,.]+) \|", out)
    normal = re.search(r"^\| normal \| \d+ \| [\d,]+ \| [\d,.]+ \| ([\d,.]+) \|", out, re.M)
    base = f"sent as normal: p95 {normal.group(1)} ms" if normal else "-"
    return [
        _at_most("critical job behind 10,000 queued normal ones, p95 wait", p95, 1000, "ms", base)
    ]


def _async_kinds(out: str) -> list[Row]:
    wall = _number(r"Folio, submit to all done: ([\d.]+) s", out)
    base = _number(r"asyncio\.gather baseline:\s+([\d.]+) s", out)
    what = "1,000 async jobs awaiting 2 s, one worker process: all done"
    return [_at_most(what, wall, 10.0, "s", f"asyncio.gather {base:.2f} s")]


def _api(out: str) -> list[Row]:
    p99 = max(
        float(v)
        for v in re.findall(
            r"^\| `POST /v1/documents/\{id\}/process` \| API \| open loop, 1500/s offered"
            r" \| [\d.]+ \| [\d.]+x \| [\d.]+ \| ([\d.]+) \|",
            out,
            re.MULTILINE,
        )
        or ["nan"]
    )
    what = "POST /v1/documents/{id}/process p99 at 1,500 requests/s"
    return [_at_most(what, p99, 10.0, "ms")]


def _backlog(out: str) -> list[Row]:
    d99 = _number(r"^\| GET /v1/jobs/\{id\} p99 ms \| ([\d.]+) \|", out)
    i99 = _number(r"^\| GET /v1/jobs/\{id\} p99 ms \| [\d.]+ \| ([\d.]+) idle", out)
    bad = _number(r"^\| reads \(non-2xx\) \| [\d,]+ \(([\d]+)\)", out)
    memory = _number(r"^\| Redis memory for the backlog \| ([\d,.]+) MiB", out)
    drain = _number(r"^\| drain rate \| ([\d,]+) jobs/s", out)
    jobs = _number(r"^backlog of ([\d,]+) tracked", out)
    return [
        (
            f"backlog of {jobs:,.0f} queued jobs: job reads while workers drain it",
            f"p99 {d99:.1f} ms, {bad:.0f} errors",
            f"idle p99 {i99:.1f} ms",
            f"{d99 / i99:.2f}",
            bad == 0,
        ),
        (
            f"backlog of {jobs:,.0f}: Redis memory, drain rate",
            f"{memory:,.1f} MiB, {drain:,.0f} jobs/s",
            "-",
            "-",
            None,
        ),
    ]


def _soak(out: str) -> list[Row]:
    pattern = r"^\| worker tree RSS \(MiB\) \| ([\d.]+) \| ([\d.]+) \| ([+-][\d.]+) % \|"
    match = re.search(pattern, out, re.MULTILINE)
    if match is None:
        raise ValueError("no soak figures")
    warm, end, growth = (float(g) for g in match.groups())
    docs = _number(r"^(\d+) documents in", out)
    return [
        (
            f"worker-docs RSS over {docs:,.0f} documents (all its processes), growth after warm-up",
            f"{end:,.0f} MiB at the end ({growth:+.1f} %)",
            f"{warm:,.0f} MiB after warm-up",
            "≤ +10 %",
            growth <= 10,
        )
    ]


QUICK = [
    Target("embedding", ["embedding_throughput.py", "--chunks", "64", "--rounds", "3"], _embedding),
    Target(
        "broker",
        [
            "broker_overhead.py",
            *("--systems", "folio", "celery"),
            *("--jobs", "2000", "--processes", "1", "--timeout-s", "120"),
        ],
        _broker,
    ),
    Target("ocr", ["ocr_throughput.py", "--pages", "4", "--parallel", "2"], _ocr),
]

#: The main of before the throughput work: the end-to-end documents target
#: (≥ 2 x its one-page-PDF rate) runs it again in the same run as its baseline.
DOCUMENTS_BASELINE_REF = "2b388a4"

#: ``make bench``: every target of the design, at full size.
FULL = [
    Target("ocr", ["ocr_throughput.py", "--pages", "20", "--parallel", "2"], _ocr),
    Target(
        "embedding", ["embedding_throughput.py", "--chunks", "100", "--rounds", "3"], _embedding
    ),
    Target(
        "documents",
        [
            "documents_throughput.py",
            "--one-page",
            "20",
            "--twenty-page",
            "5",
            "--baseline-ref",
            DOCUMENTS_BASELINE_REF,
        ],
        _documents,
    ),
    Target("fields", ["fields_overhead.py", "--receipts", "20"], _fields),
    Target("search", ["search_latency.py"], _search),
    Target(
        "broker",
        [
            "broker_overhead.py",
            "--systems",
            "folio",
            "dramatiq",
            "celery",
            "rq",
            "--jobs",
            "20000",
            "--processes",
            "1",
            "2",
        ],
        _broker,
    ),
    Target(
        "broker-fsync",
        [
            "broker_overhead.py",
            "--fsync",
            "--systems",
            "folio",
            "celery",
            "--jobs",
            "20000",
            "--processes",
            "1",
            "2",
        ],
        _broker_fsync,
    ),
    Target("priority", ["priority_latency.py", "--backlog", "10000", "--repeats", "20"], _priority),
    Target("async", ["async_kinds.py", "--jobs", "1000", "--wait-ms", "2000"], _async_kinds),
    Target("backlog", ["backlog.py", "--jobs", "100000", "--processes", "2"], _backlog),
    Target(
        "soak", ["soak_docs.py", "--documents", "1000", "--batch", "50", "--warm-up", "100"], _soak
    ),
    Target("api", ["api_process.py", "--duration-s", "10"], _api),
]


def run(target: Target) -> list[list[str]]:
    """Run ``target``'s benchmark; its rows of the table."""
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
        rows = target.read(proc.stdout)
    except ValueError:
        rows = []
    if not rows:
        return [[target.name, f"no result (exit {proc.returncode})", "-", "-", "error", took]]
    verdict = {True: "met", False: "missed", None: "reported"}
    return [
        [what, result, base, ratio, verdict[met], took] for what, result, base, ratio, met in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--full", action="store_true", help="every target at full size (make bench)"
    )
    names = sorted({t.name for t in QUICK + FULL})
    parser.add_argument("--only", nargs="+", choices=names)
    args = parser.parse_args()
    targets = FULL if args.full else QUICK
    rows = [row for t in targets if args.only is None or t.name in args.only for row in run(t)]
    header = ["target", "result", "baseline (same run)", "ratio or bound", "met", "time"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average (1, 5, 15 min): {load}; {os.cpu_count()} cores")
    sys.exit(0 if all(row[4] in ("met", "reported") for row in rows) else 1)


if __name__ == "__main__":
    main()
