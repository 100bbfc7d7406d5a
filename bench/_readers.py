"""How ``bench/quick.py`` reads each benchmark's output: rows of its table.

A row is (what, result, baseline of the same run, ratio or bound, met); met
is None for a figure that is reported with no target of its own.
"""

from __future__ import annotations

import re

#: One row of the table: what, result, baseline, ratio (or how the result
#: compares with its bound), met (None: reported, no target).
Row = tuple[str, str, str, str, bool | None]


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


def embedding(out: str) -> list[Row]:
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
    # side by side: the raw systems that track nothing, reported with no target
    for system, label in (
        ("dramatiq", "raw Dramatiq"),
        ("rq", "RQ (forks per job)"),
        ("folio-async", "Folio, async actor (tracked)"),
    ):
        for n in (1, 2):
            if re.search(rf"^\| {system} \| {n} \| [\d,]+ \| [\d.]+ \| [\d,]+ \|", out, re.M):
                has_folio = re.search(rf"^\| folio \| {n} \|", out, re.MULTILINE)
                folio = f"Folio {rate('folio', n) / rate(system, n):.2f} x" if has_folio else "-"
                what = f"{label} no-op jobs, {n} process(es){note}"
                rows.append((what, f"{rate(system, n):,.0f} jobs/s", "-", folio, None))
    return rows


def broker(out: str) -> list[Row]:
    return _broker_rows(out, "")


def broker_fsync(out: str) -> list[Row]:
    return _broker_rows(out, ", PostgreSQL fsync on")


def ocr(out: str) -> list[Row]:
    folio = _number(r"^folio OcrPool\s+\d+\s+[\d.]+\s+([\d.]+)", out)
    cli = _number(r"^tesseract CLI\s+\d+\s+[\d.]+\s+([\d.]+)", out)
    return [_at_least("OCR pool vs the tesseract command", folio, cli, 0.9, "pages/min")]


def documents(out: str) -> list[Row]:
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


def fields(out: str) -> list[Row]:
    share = _number(r"^\| fields stage \(upper bound\) \|.*\| ([\d.]+)% \|$", out)
    what = "field extraction's share of a one-page receipt's upload → ready"
    return [_at_most(what, share, 10.0, "%")]


def search(out: str) -> list[Row]:
    total = _number(r"^\| \*\*total: embedding \+ hybrid search\*\* \| [\d.]+ \| ([\d.]+) \|", out)
    bare = _number(r"^\| baseline: bare pgvector[^|]*\| [\d.]+ \| ([\d.]+) \|", out)
    what = "search p95 over 100,000 chunks, query embedding included"
    return [_at_most(what, total, 50.0, "ms", f"bare pgvector top-10 p95 {bare:.1f} ms")]


def priority(out: str) -> list[Row]:
    p95 = _number(r"^\| critical \| \d+ \| [\d,]+ \| [\d,.]+ \| ([\d,.]+) \|", out)
    normal = re.search(r"^\| normal \| \d+ \| [\d,]+ \| [\d,.]+ \| ([\d,.]+) \|", out, re.M)
    base = f"sent as normal: p95 {normal.group(1)} ms" if normal else "-"
    return [
        _at_most("critical job behind 10,000 queued normal ones, p95 wait", p95, 1000, "ms", base)
    ]


def async_kinds(out: str) -> list[Row]:
    wall = _number(r"Folio, submit to all done: ([\d.]+) s", out)
    base = _number(r"asyncio\.gather baseline:\s+([\d.]+) s", out)
    what = "1,000 async jobs awaiting 2 s, one worker process: all done"
    return [_at_most(what, wall, 10.0, "s", f"asyncio.gather {base:.2f} s")]


def api(out: str) -> list[Row]:
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


def backlog(out: str) -> list[Row]:
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


def soak(out: str) -> list[Row]:
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


def relevance(out: str) -> list[Row]:
    """Hybrid top-1 over all queries of each set, against semantic and keyword alone."""
    rows: list[Row] = []
    for language, name in (("en", "English"), ("pt", "Portuguese")):
        section = re.search(rf"^\| {language} \| mode \|.*?(?=^$|\Z)", out, re.M | re.S)
        if section is None:
            continue
        top1 = {
            mode: float(value)
            for mode, value in re.findall(
                r"^\| all \| (\w+) \| \d+ \| ([\d.]+)% \|", section.group(0), re.M
            )
        }
        hybrid, semantic, keyword = top1["hybrid"], top1["semantic"], top1["keyword"]
        rows.append(
            (
                f"search relevance, {name} set: hybrid top-1",
                f"{hybrid:.1f} %",
                f"semantic {semantic:.1f} %, keyword {keyword:.1f} %",
                "≥ 90 % and ≥ both",
                hybrid >= 90 and hybrid >= max(semantic, keyword),
            )
        )
    return rows


def fields_accuracy(out: str) -> list[Row]:
    """Precision and recall figures at their floor, by way of reading the documents."""
    rows: list[Row] = []
    pattern = r"^fields (\w+): (\d+) of (\d+) figures at their floor; type accuracy ([\d.]+)"
    for kind, good, total, typed in re.findall(pattern, out, re.M):
        rows.append(
            (
                f"field extraction precision and recall, {kind} (68 generated documents)",
                f"{good} of {total} at their floor",
                f"type accuracy {typed}",
                "≥ 0.95 ids, amounts, dates; ≥ 0.90 names",
                good == total,
            )
        )
    return rows


def faults(out: str) -> list[Row]:
    """The fault tests (SIGKILL, Redis restart and flush, Redis down at upload)."""
    passed = re.search(r"(\d+) passed", out)
    failed = re.search(r"(\d+) (failed|error)", out)
    if passed is None and failed is None:
        raise ValueError("no pytest summary")
    result = f"{passed.group(1) if passed else 0} passed"
    if failed:
        result += f", {failed.group(1)} {failed.group(2)}"
    what = "0 jobs lost: worker SIGKILLed, Redis restarted or flushed, Redis down at upload"
    return [(what, result, "-", "tests, not timed", failed is None)]
