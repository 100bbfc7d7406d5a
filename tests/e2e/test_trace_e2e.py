"""One trace from the upload request to the OCR of each page.

The API runs in this process (uvicorn on a loopback port, in a thread) with
an in-memory span exporter; worker-docs and worker-ocr run as real processes
printing their spans (the ``console`` exporter) into their logs. The trace
id of the upload request's span must reappear in both workers' spans: the
document job, each OCR page and the completion step (chunking and
embedding).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from documents import pdf, scanned_page
from e2ekit import Api, e2e_settings, finished, start_worker
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from folio_devstack.workers import WorkerProcess
from folio_shared.settings import FolioSettings
from folio_shared.telemetry import configure_tracing

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPAN = re.compile(
    r'"name": "(?P<name>[^"]+)",\s+"context": \{\s+"trace_id": "0x(?P<trace>[0-9a-f]+)"'
)


@pytest.fixture(scope="module")
def settings(database_url: str, test_servers: Any, tmp_path_factory: Any) -> FolioSettings:
    return e2e_settings(database_url, test_servers.redis_url, tmp_path_factory.mktemp("trace"))


@pytest.fixture(scope="module")
def logs(tmp_path_factory: Any) -> Path:
    path: Path = tmp_path_factory.mktemp("trace-logs")
    return path


@pytest.fixture(scope="module")
def workers(settings: FolioSettings, logs: Path) -> Iterator[list[WorkerProcess]]:
    started = [
        start_worker(settings, kind, logs, threads=1, FOLIO_TELEMETRY_EXPORTER="console")
        for kind in ("docs", "ocr")
    ]
    yield started
    for worker in started:
        worker.close()


def worker_spans(log: Path) -> list[tuple[str, str]]:
    return [(m["name"], m["trace"]) for m in SPAN.finditer(log.read_text(errors="replace"))]


async def test_one_trace_runs_from_the_upload_through_both_workers(
    api: Api, settings: FolioSettings, logs: Path
) -> None:
    engine = api.engine
    exporter = InMemorySpanExporter()
    configure_tracing(None, service_name="api", processors=[SimpleSpanProcessor(exporter)])

    # When a two-page scan is uploaded through the real API
    data = pdf([scanned_page(["Trace page one", "harbour"]), scanned_page(["Trace page two"])])
    answer = await api.client.post(
        "/v1/documents",
        headers=api.headers,
        files={"file": ("scan.pdf", data, "application/pdf")},
    )
    assert answer.status_code == 201, answer.text
    document_id = uuid.UUID(answer.json()["document"]["id"])
    assert await finished(engine, document_id) == "ready"

    # Then the request's span starts a trace the message carries on
    request = [
        s
        for s in exporter.get_finished_spans()
        if s.kind is SpanKind.SERVER and s.name == "POST /v1/documents"
    ]
    assert len(request) == 1
    trace_id = f"{request[0].context.trace_id:032x}"
    sent = [
        s.name
        for s in exporter.get_finished_spans()
        if s.context.trace_id == request[0].context.trace_id
    ]
    assert "send docs.process" in sent

    # and both workers' spans belong to it: the job, each page, the completion
    # (a span is printed when it ends, just after the job's outcome is
    # recorded: give the last one a moment to reach the log)
    deadline = time.monotonic() + 15
    while True:
        docs = [name for name, trace in worker_spans(logs / "docs-0.log") if trace == trace_id]
        ocr = [name for name, trace in worker_spans(logs / "ocr-0.log") if trace == trace_id]
        if "process docs.finalize" in docs or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert "process docs.process" in docs
    assert "process docs.finalize" in docs
    assert ocr.count("process ocr.page") == 2
