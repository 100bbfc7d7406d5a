"""Metrics and traces of real jobs, on real Redis and PostgreSQL.

An in-process worker runs Folio's full middleware stack; its metrics port is
scraped over HTTP and parsed as Prometheus text; spans go to an in-memory
exporter.
"""

from __future__ import annotations

import os
import uuid

import pytest
import redis.asyncio as aioredis
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import BrokenV1, BuggyV1, EchoV1, ParentV1, new_id
from support.jobs import wait_for, wait_status
from support.metrics import scrape, value
from support.workers import RunningWorker

from folio_shared.jobs import Jobs
from folio_shared.jobs.family import child_job_id
from folio_shared.ops import list_workers
from folio_shared.ops.stalled import find_stalled
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


async def test_scraped_metrics_count_jobs_by_actor_queue_and_outcome(
    jobs: Jobs, worker: RunningWorker
) -> None:
    before = scrape(worker.metrics_port)
    key = uuid.uuid4().hex[:8]
    ok = [new_id() for _ in range(3)]
    for jid in ok:
        await jobs.enqueue(EchoV1(job_id=str(jid), key=key))
    flaky = uuid.uuid4()
    await jobs.enqueue(EchoV1(job_id=str(flaky), key=key, fail_times=1))
    broken = uuid.uuid4()
    await jobs.enqueue(BrokenV1(job_id=str(broken), key=key))
    doomed = uuid.uuid4()
    await jobs.enqueue(BuggyV1(job_id=str(doomed), key=key), max_retries=1)

    for jid in [*ok, flaky]:
        await wait_status(jobs, jid, "succeeded")
    await wait_status(jobs, broken, "failed")
    await wait_status(jobs, doomed, "dead")

    async def settled() -> bool:
        after = scrape(worker.metrics_port)
        return value(after, "folio_dead_letters_total", actor="test.buggy", queue="documents") > (
            value(before, "folio_dead_letters_total", actor="test.buggy", queue="documents")
        )

    await wait_for(settled, what="the dead letter counted")
    after = scrape(worker.metrics_port)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    echo = {"actor": "test.echo", "queue": "documents"}
    assert delta("folio_jobs_total", outcome="succeeded", **echo) == 4
    assert delta("folio_jobs_total", outcome="retried", **echo) == 1
    assert delta("folio_job_retries_total", **echo) == 1
    assert delta("folio_job_duration_seconds_count", **echo) == 5
    assert delta("folio_job_duration_seconds_bucket", le="+Inf", **echo) == 5
    broken_labels = {"actor": "test.broken", "queue": "documents"}
    assert delta("folio_jobs_total", outcome="failed", **broken_labels) == 1
    buggy = {"actor": "test.buggy", "queue": "documents"}
    assert delta("folio_jobs_total", outcome="retried", **buggy) == 1
    assert delta("folio_jobs_total", outcome="dead", **buggy) == 1
    assert delta("folio_dead_letters_total", **buggy) == 1
    assert value(after, "folio_jobs_in_progress", **echo) == 0
    assert delta("folio_job_queue_wait_seconds_count", queue="documents") == 8

    # Cluster gauges, read from Redis and PostgreSQL at scrape time.
    assert value(after, "folio_redis_up") == 1
    assert value(after, "folio_database_up") == 1
    assert value(after, "folio_queue_messages", queue="documents", state="ready") == 0
    assert value(after, "folio_queue_messages", queue="documents", state="dead") == 1
    assert value(after, "folio_queue_messages", queue="ocr.critical", state="dead") == 0
    assert value(after, "folio_workers_alive", queue="documents") == 1
    assert value(after, "folio_workers_alive", queue="ocr") == 1
    assert value(after, "folio_queue_paused", queue="ocr") == 0
    assert value(after, "folio_outbox_backlog") == 0
    assert value(after, "folio_jobs_stalled") == 0


async def test_one_trace_runs_from_the_request_through_parent_children_and_completion(
    jobs: Jobs, worker: RunningWorker, spans: InMemorySpanExporter
) -> None:
    parent = uuid.uuid4()
    tracer = trace.get_tracer("tests")
    with tracer.start_as_current_span("POST /v1/documents") as request:
        await jobs.enqueue(ParentV1(job_id=str(parent), key=uuid.uuid4().hex[:8], children=3))
    trace_id = request.get_span_context().trace_id
    await wait_status(jobs, parent, "succeeded")

    async def all_spans() -> list[object] | None:
        mine = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
        names = [s.name for s in mine]
        done = names.count("process test.child") == 3 and "process test.complete" in names
        return mine if done else None

    mine = await wait_for(all_spans, what="every span of the trace")
    consumers = {
        s.name: s for s in mine if s.kind == SpanKind.CONSUMER and s.name != "process test.child"
    }
    pages = [s for s in mine if s.name == "process test.child"]
    producers = [s for s in mine if s.kind == SpanKind.PRODUCER]
    # The request sent the parent; the parent sent three pages; a page (the
    # last one) sent the completion.
    assert sorted(s.name for s in producers) == [
        "send test.child",
        "send test.child",
        "send test.child",
        "send test.complete",
        "send test.parent",
    ]
    process_parent = consumers["process test.parent"]
    assert process_parent.parent is not None
    send_parent = next(s for s in producers if s.name == "send test.parent")
    assert process_parent.parent.span_id == send_parent.context.span_id
    assert send_parent.parent is not None
    assert send_parent.parent.span_id == request.get_span_context().span_id
    assert process_parent.attributes is not None
    assert process_parent.attributes["folio.job_id"] == str(parent)
    page_jobs = {str(child_job_id(parent, i)) for i in range(3)}
    assert {s.attributes["folio.job_id"] for s in pages if s.attributes} == page_jobs
    for s in pages:
        assert s.attributes is not None
        assert s.attributes["folio.parent_job_id"] == str(parent)
        assert s.attributes["folio.page_no"] in (1, 2, 3)
        assert s.attributes["messaging.destination.name"] == "ocr"
    assert consumers["process test.complete"].attributes["folio.job_id"] == str(parent)  # type: ignore[index]


async def test_live_workers_show_host_pid_queues_and_current_jobs(
    jobs: Jobs, worker: RunningWorker, redis: aioredis.Redis, settings: FolioSettings
) -> None:
    slow = uuid.uuid4()
    await jobs.enqueue(EchoV1(job_id=str(slow), key=uuid.uuid4().hex[:8], sleep_ms=1_500))

    async def running() -> object:
        found = await list_workers(redis, settings.broker.namespace)
        return found if found and str(slow) in found[0].current_jobs else None

    (w,) = await wait_for(running, what="the worker to report its job")
    assert w.pid == os.getpid()
    assert w.host
    assert {"documents", "ocr", "documents.critical"} <= set(w.queues)
    assert "documents" in w.logical_queues
    await wait_status(jobs, slow, "succeeded")


async def test_a_job_whose_progress_stops_moving_is_reported_stalled(
    jobs: Jobs, worker: RunningWorker, engine: AsyncEngine
) -> None:
    slow = uuid.uuid4()
    await jobs.enqueue(EchoV1(job_id=str(slow), key=uuid.uuid4().hex[:8], sleep_ms=2_500))

    async def stalled() -> object:
        found = await find_stalled(engine, stall_after_ms=800)
        return [j for j in found if j.id == slow]

    (job,) = await wait_for(stalled, timeout_s=10, what="the job to be stalled")
    assert job.actor == "test.echo"
    assert job.idle_s >= 0.8
    assert job.stage == "echoing"
    await wait_status(jobs, slow, "succeeded")
    assert [j for j in await find_stalled(engine, stall_after_ms=800) if j.id == slow] == []
