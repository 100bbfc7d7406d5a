"""OCR through the real workers: parallel OCR workers, hostile images, a
worker killed half-way through a scanned document."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from documents import pdf, png, png_bomb, scanned_page, tiff_pages
from e2ekit import (
    Api,
    e2e_settings,
    finished,
    pages_of,
    process,
    start_worker,
    submit,
)

from folio_devstack.workers import WorkerProcess
from folio_shared.db.enums import DocumentKind
from folio_shared.db.models import FINISHED_JOB_STATUSES, Document, Job
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def settings(database_url: str, test_servers: Any, tmp_path_factory: Any) -> FolioSettings:
    return e2e_settings(database_url, test_servers.redis_url, tmp_path_factory.mktemp("ocr-e2e"))


@pytest.fixture(scope="module")
def logs(tmp_path_factory: Any) -> Path:
    path: Path = tmp_path_factory.mktemp("logs")
    return path


@pytest.fixture(scope="module")
def workers(settings: FolioSettings, logs: Path) -> Iterator[list[WorkerProcess]]:
    # one worker-docs, two worker-ocr processes (one OCR child each)
    started = [
        start_worker(settings, "docs", logs),
        start_worker(settings, "ocr", logs, threads=1),
        start_worker(settings, "ocr", logs, threads=1),
    ]
    yield started
    for worker in started:
        worker.close()


def harbour(n: int) -> list[str]:
    return [f"Page {n} describes the harbour", "and its fishing boats"]


async def children(engine: Any, document_id: Any) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(Job).where(Job.document_id == document_id, Job.parent_id.is_not(None))
        )
        return list(rows)


async def final_job(engine: Any, document_id: Any, timeout_s: float = 30) -> Any:
    """The document's top-level job once it is in a final state."""
    query = sa.select(Job.status, Job.error_message).where(
        Job.document_id == document_id, Job.parent_id.is_(None)
    )
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        async with engine.connect() as conn:
            job = (await conn.execute(query)).one()
        if job.status in FINISHED_JOB_STATUSES:
            return job
        assert asyncio.get_running_loop().time() < deadline, f"job still {job.status}"
        await asyncio.sleep(0.1)


async def test_two_ocr_workers_share_a_scanned_document(api: Api) -> None:
    engine = api.engine
    document_id = await submit(
        api,
        DocumentKind.PDF,
        "application/pdf",
        pdf([scanned_page(harbour(n)) for n in range(1, 11)]),
        ocr_dpi=200,
    )
    assert await finished(engine, document_id) == "ready"
    stored = await pages_of(engine, document_id)
    assert [(n, m) for n, m, _ in stored] == [(n, "ocr") for n in range(1, 11)]
    for n, _, text in stored:
        assert f"Page {n}" in text
    kids = await children(engine, document_id)
    assert len(kids) == 10
    assert {k.status for k in kids} == {"succeeded"}
    # the pages were split between the two worker-ocr processes
    processes = {k.worker.rsplit(":", 1)[0] for k in kids}
    assert len(processes) == 2


async def uploaded(api: Api, image: Any) -> uuid.UUID:
    """A PNG scan uploaded through the API, not processed yet."""
    answer = await api.client.post(
        "/v1/documents",
        params={"process": "false"},
        headers=api.headers,
        files={"file": ("scan.png", png(image), "image/png")},
    )
    assert answer.status_code == 201, answer.text
    return uuid.UUID(answer.json()["document"]["id"])


async def test_turned_scans_are_read_upright_and_rotate_is_a_process_option(api: Api) -> None:
    def scan(day: str, degrees: int) -> Any:
        lines = [f"On {day} the ferry leaves the northern pier", "with twelve crates of lemons"]
        return scanned_page(lines).rotate(degrees, expand=True, fillcolor=255)

    # Given scans turned upside down and on their side
    upside_down = await uploaded(api, scan("Monday", 180))
    kept_as_is = await uploaded(api, scan("Tuesday", 180))
    sideways = await uploaded(api, scan("Friday", 90))
    # When they are processed with the default rotation ("auto"), with
    # rotate 0 (never turned) and with rotate 270 (turned 270° counter-clockwise)
    await process(api, upside_down)
    await process(api, kept_as_is, rotate=0)
    await process(api, sideways, rotate=270)
    # Then the turned pages' text is read, and the page kept as it is is not
    for document_id, day, read in (
        (upside_down, "Monday", True),
        (kept_as_is, "Tuesday", False),
        (sideways, "Friday", True),
    ):
        status = await finished(api.engine, document_id, timeout_s=180)
        text = " ".join(t for _, _, t in await pages_of(api.engine, document_id))
        if read:
            assert status == "ready", text
            assert f"On {day} the ferry leaves the northern pier" in text, text
            assert "twelve crates of lemons" in text, text
        else:
            assert "ferry leaves" not in text, text
    # and a rotation that is not one of auto, 0, 90, 180, 270 is refused
    for bad in (45, "sideways", True):
        answer = await api.client.post(
            f"/v1/documents/{kept_as_is}/process", json={"rotate": bad}, headers=api.headers
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_input"
        assert "rotate" in answer.text


@pytest.mark.parametrize(
    ("name", "kind", "content_type", "data", "reason"),
    [
        ("bomb", DocumentKind.PNG, "image/png", png_bomb(), "pixels"),
        ("truncated", DocumentKind.PNG, "image/png", png(scanned_page(harbour(1)))[:3000], ""),
        ("1000-page tiff", DocumentKind.TIFF, "image/tiff", tiff_pages(1000), "pages"),
    ],
)
async def test_hostile_images_fail_clearly_and_the_workers_carry_on(
    api: Api, name: str, kind: DocumentKind, content_type: str, data: bytes, reason: str
) -> None:
    engine = api.engine
    bad = await submit(api, kind, content_type, data)
    assert await finished(engine, bad) == "failed", name
    async with engine.connect() as conn:
        error = await conn.scalar(sa.select(Document.error).where(Document.id == bad))
    # the job's outcome is recorded after the document's (its own transaction)
    job = await final_job(engine, bad)
    assert job.status == "failed", name
    assert error
    assert reason in error.lower()
    # the job says why too, not only "no text could be read"
    assert job.error_message
    assert reason in job.error_message.lower()
    # the next document is served normally
    n = 20 + len(name)
    good = await submit(api, DocumentKind.PNG, "image/png", png(scanned_page(harbour(n))))
    assert await finished(engine, good) == "ready"
    assert f"Page {n}" in (await pages_of(engine, good))[0][2]


async def test_a_killed_ocr_worker_resumes_without_redoing_finished_pages(
    api: Api, workers: list[WorkerProcess], settings: FolioSettings, logs: Path
) -> None:
    engine = api.engine
    document_id = await submit(
        api,
        DocumentKind.PDF,
        "application/pdf",
        pdf([scanned_page(harbour(n)) for n in range(1, 13)]),
        ocr_dpi=150,
    )

    async def pages_done() -> int:
        return sum(1 for k in await children(engine, document_id) if k.status == "succeeded")

    while await pages_done() < 4:
        await asyncio.sleep(0.2)
    # When both OCR workers are SIGKILLed half-way, and a new one starts
    for worker in workers[1:]:
        worker.kill()
    done_at_kill = await pages_done()
    workers.append(start_worker(settings, "ocr", logs, threads=2))

    # Then the document completes, and only pages in flight at the kill ran twice
    assert await finished(engine, document_id, timeout_s=300) == "ready"
    kids = await children(engine, document_id)
    assert {k.status for k in kids} == {"succeeded"}
    assert len(await pages_of(engine, document_id)) == 12
    reruns = sum(k.attempts - 1 for k in kids)
    assert reruns <= 2, f"{reruns} pages were OCRed again (2 were in flight)"
    assert done_at_kill >= 4
    async with engine.connect() as conn:
        parent_attempts = await conn.scalar(
            sa.select(Job.attempts).where(Job.document_id == document_id, Job.parent_id.is_(None))
        )
    assert parent_attempts == 1, "the text layer was extracted once"


def _samples(port: int) -> dict[str, float]:
    """``name{labels}`` → value, from a worker's metrics endpoint."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


async def test_a_200_page_pdf_resumes_after_its_docs_worker_is_killed_half_way(
    api: Api, workers: list[WorkerProcess], settings: FolioSettings, logs: Path
) -> None:
    """worker-docs is SIGKILLed in the middle of reading a 200-page PDF
    (text pages, every 25th page scanned). Its replacement takes the job
    over and reads only the pages that were not stored yet: counted by its
    own ``folio_pages_extracted`` / ``folio_pages_reused`` metrics, by the
    stored rows that were never rewritten, and by OCR jobs that ran once."""
    import os
    import signal

    from folio_devstack.ports import pick_port

    engine = api.engine
    body = "\n".join(
        f"line {i} of the ledger of harbour dues and fishing rights" for i in range(45)
    )
    pages: list[Any] = [
        scanned_page(harbour(n)) if n % 25 == 0 else f"{_marker(n)}\n{body}" for n in range(1, 201)
    ]
    document_id = await submit(api, DocumentKind.PDF, "application/pdf", pdf(pages), ocr_dpi=150)

    async def stored() -> dict[int, int]:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT page_no, xmin::text::bigint FROM pages WHERE document_id = :d"),
                {"d": document_id},
            )
            return {int(n): int(x) for n, x in rows}

    docs = workers[0]
    deadline = asyncio.get_running_loop().time() + 120
    while len(await stored()) < 40:
        assert asyncio.get_running_loop().time() < deadline, "extraction never started"
        await asyncio.sleep(0.02)
    # freeze it at once (nothing more is written), then SIGKILL it
    os.killpg(docs.proc.pid, signal.SIGSTOP)
    docs.kill()
    before = await stored()
    assert 40 <= len(before) < 190, f"not half-way: {len(before)} pages stored at the kill"
    metrics_port = pick_port(19391)
    workers[0] = start_worker(settings, "docs", logs, FOLIO_METRICS_PORT=str(metrics_port))
    workers.append(docs)  # closed at teardown

    assert await finished(engine, document_id, timeout_s=300) == "ready"
    after = await stored()
    assert sorted(after) == list(range(1, 201))
    rewritten = [n for n, xmin in before.items() if after[n] != xmin]
    assert rewritten == [], f"pages stored before the kill were written again: {rewritten}"
    text = {n: t for n, _, t in await pages_of(engine, document_id)}
    assert all(text[n].startswith(_marker(n)) for n in range(1, 201) if n % 25)
    assert all(f"Page {n}" in text[n] for n in range(25, 201, 25))

    samples = _samples(metrics_port)
    extracted = samples.get('folio_pages_extracted_total{kind="pdf"}', 0.0)
    reused = samples.get('folio_pages_reused_total{method="text"}', 0.0)
    assert extracted == 200 - len(before), (extracted, len(before))
    assert reused == len(before)
    kids = await children(engine, document_id)
    assert len(kids) == 8
    assert {(k.status, k.attempts) for k in kids} == {("succeeded", 1)}
    async with engine.connect() as conn:
        parent_attempts = await conn.scalar(
            sa.select(Job.attempts).where(Job.document_id == document_id, Job.parent_id.is_(None))
        )
    assert parent_attempts == 2


def _marker(n: int) -> str:
    """Page ``n``'s first line: its own words, not only its number, so that
    it is no running header (those are dropped after the first page)."""
    return f"Folio page {n} of the {_NAMES[n % len(_NAMES)]} ledger"


_NAMES = ("harbour", "fishing", "salt", "timber", "wool", "grain", "amber", "copper", "linen")
