"""Process requests queued in one batch each send their message with their
own trace context: the batch runs in a task of its own, whose context is
another request's (real uvicorn, PostgreSQL, Redis; spans exported in
memory)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from apikit import TenantKey, queued_messages
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis
from support.live_server import LiveServer, serve
from test_api_process import stored_document
from test_api_process_batches import _batch_stats

from folio_shared.settings import FolioSettings
from folio_shared.telemetry import TRACE_OPTION

pytestmark = pytest.mark.integration

ROUTE = "POST /v1/documents/{document_id}/process"


@pytest.fixture(scope="module")
def live(settings: FolioSettings, spans: InMemorySpanExporter) -> Iterator[LiveServer]:
    with serve(lambda _: settings) as server:
        yield server


def _trace_id(traceparent: str) -> int:
    return int(traceparent.split("-")[1], 16)


async def test_each_request_of_a_batch_sends_its_own_trace(
    client: Any,
    live: LiveServer,
    alice: TenantKey,
    redis: Redis,
    settings: FolioSettings,
    spans: InMemorySpanExporter,
) -> None:
    # Given 24 stored documents, asked to be processed all at once
    docs = [await stored_document(client, alice, f"traced-{i}") for i in range(24)]
    spans.clear()
    batches_before, _ = _batch_stats()
    limits = httpx.Limits(max_connections=len(docs))
    async with httpx.AsyncClient(base_url=live.base_url, limits=limits, timeout=30) as http:
        responses = await asyncio.gather(
            *[http.post(f"/v1/documents/{d}/process", headers=alice.headers) for d in docs]
        )
    assert {r.status_code for r in responses} == {202}
    batches_after, _ = _batch_stats()
    assert batches_after - batches_before < len(docs)  # some went together

    # Then each message carries the trace of the request that queued it
    server_traces = {s.context.trace_id for s in spans.get_finished_spans() if s.name == ROUTE}
    assert len(server_traces) == len(docs)
    jobs = {r.json()["job"]["job_id"] for r in responses}
    sent = await queued_messages(redis, settings.broker.namespace, "documents")
    message_traces = [
        _trace_id(m["options"][TRACE_OPTION]["traceparent"])
        for m in sent.values()
        if m["options"]["job_id"] in jobs
    ]
    assert len(message_traces) == len(docs)
    assert set(message_traces) == server_traces  # one trace each, none shared
    # and each request's trace shows its send, a child of the request's span
    server_spans = {s.context.span_id for s in spans.get_finished_spans() if s.name == ROUTE}
    send_spans = [s for s in spans.get_finished_spans() if s.name == "send docs.process"]
    assert sorted(s.context.trace_id for s in send_spans) == sorted(server_traces)
    assert all(s.parent is not None and s.parent.span_id in server_spans for s in send_spans)
