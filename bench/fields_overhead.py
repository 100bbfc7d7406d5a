"""What field extraction adds to a one-page receipt's time from upload to ``ready``.

Starts a private Redis and PostgreSQL (see :mod:`_servers`) and ONE real
worker-docs, as :mod:`documents_throughput` does, then submits one-page PIX
receipts (text PDFs, a different receipt each time) one at a time, each
timed from its submit to ``ready``. Two measures of extraction, both as a
share of the median upload-to-``ready`` time of the same run:

- **fields stage**: the time between the job's ``fields`` progress event
  and its ``chunking`` event (Redis stream ids carry the milliseconds they
  were written at). It holds classification and extraction, and also the
  stored pages' loading and the look-up of reusable vectors that the
  finalize step does anyway: an upper bound of what extraction adds.
- **extraction alone**: the same receipts' page texts through
  ``folio_worker_docs.extraction.extract`` in this process (median of
  ``--repeat`` calls each).

The receipts are checked to come out ``pix_receipt`` with their amount, so
the figure is of extraction that ran. Loopback only; bounded by
``--timeout-s``; the worker and the servers are stopped at the end.

    .venv/bin/python bench/fields_overhead.py [--receipts 20]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

sys.path.insert(0, str(Path(__file__).parent))
from _servers import BenchServers
from documents_throughput import (
    Client,
    close_client,
    docs_worker,
    open_client,
    submit,
    wait_final,
)

from folio_shared.db.models import DocumentFields, Job
from folio_shared.jobs import events
from folio_shared.settings import FolioSettings
from folio_worker_docs.extraction import extract


def receipt_lines(rng: random.Random, index: int) -> tuple[list[str], str]:
    """A PIX receipt's lines and its amount (``"1234.56"``)."""
    cents = rng.randint(1_000, 900_000)
    amount = f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"
    tail = "".join(rng.choices("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=11))
    lines = [
        "Comprovante de transferência Pix",
        f"Valor pago: R$ {amount}",
        "Tarifa: R$ 0,00",
        f"Data do pagamento: {1 + index % 28:02d}/11/2026 14:{index % 60:02d}",
        "Para",
        "Nome: Padaria Pão Quente Ltda",
        "CNPJ: 11.222.333/0001-81",
        "Instituição: Banco Inter S.A.",
        "De",
        f"Nome: Cliente {index}",
        "CPF: ***.456.789-**",
        f"ID da transação: E00416968202611{1 + index % 28:02d}1732{tail}",
    ]
    return lines, f"{cents / 100:.2f}"


def receipt_pdf(lines: list[str]) -> bytes:
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    text = pdf.beginText(60, A4[1] - 70)
    text.setFont("Helvetica", 10)
    for line in lines:
        text.textLine(line)
    pdf.drawText(text)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _ms(event_id: str) -> int:
    return int(event_id.split("-", 1)[0])


async def fields_stage_ms(client: Client, document_id: uuid.UUID) -> float:
    """Milliseconds from the job's ``fields`` event to its ``chunking`` event."""
    async with client.engine.connect() as conn:
        job_id = await conn.scalar(
            sa.select(Job.id).where(Job.document_id == document_id, Job.parent_id.is_(None))
        )
    if job_id is None:
        raise RuntimeError(f"document {document_id} has no job")
    stream = await events.read(client.jobs.redis, job_id, count=1000)
    stages = [(e.data.get("stage"), _ms(e.id)) for e in stream if e.type == "progress"]
    start = next(ms for stage, ms in stages if stage == "fields")
    end = next(ms for stage, ms in stages if stage == "chunking" and ms >= start)
    return float(end - start)


async def run(args: argparse.Namespace, settings: FolioSettings, root: Path) -> None:
    rng = random.Random(27)
    receipts = [receipt_lines(rng, i) for i in range(args.receipts + 1)]
    pdfs = [receipt_pdf(lines) for lines, _ in receipts]

    client = await open_client(settings, "bench-fields")
    engine = client.engine
    worker = docs_worker(settings, root, threads=2)
    totals: list[float] = []
    stages: list[float] = []
    try:
        warm = await submit(client, pdfs[0])  # worker start, model load
        await wait_final(engine, [warm], worker, args.timeout_s)
        for data, (_, amount) in zip(pdfs[1:], receipts[1:], strict=True):
            start = time.perf_counter()
            document_id = await submit(client, data)
            await wait_final(engine, [document_id], worker, args.timeout_s)
            totals.append((time.perf_counter() - start) * 1000)
            stages.append(await fields_stage_ms(client, document_id))
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        sa.select(DocumentFields.document_type, DocumentFields.fields).where(
                            DocumentFields.document_id == document_id
                        )
                    )
                ).one()
            if row.document_type != "pix_receipt" or row.fields["amount"]["value"] != amount:
                raise RuntimeError(f"receipt {document_id} extracted as {row}")
    finally:
        worker.close()
        await close_client(client)

    alone: list[float] = []
    for lines, _ in receipts[1:]:
        text = "\n".join(lines)
        calls = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            extract([text])
            calls.append((time.perf_counter() - started) * 1000)
        alone.append(statistics.median(calls))

    total = statistics.median(totals)
    print(f"\nreceipts: {len(totals)} (one at a time, after one warm-up)\n")
    print("| measure | median ms | p90 ms | share of upload → ready |")
    print("|---|---:|---:|---:|")
    for name, values in (
        ("upload → ready", totals),
        ("fields stage (upper bound)", stages),
        ("extraction alone", alone),
    ):
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
        share = statistics.median(values) / total
        print(f"| {name} | {statistics.median(values):.1f} | {p90:.1f} | {share:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=20, help="receipts timed (default 20)")
    parser.add_argument(
        "--repeat", type=int, default=20, help="in-process extractions per receipt (default 20)"
    )
    parser.add_argument("--timeout-s", type=float, default=300, help="bound of each document")
    args = parser.parse_args()
    with BenchServers() as servers:
        asyncio.run(run(args, servers.folio_settings(), servers.root))


if __name__ == "__main__":
    main()
