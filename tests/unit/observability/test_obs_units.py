"""Pure parts of observability: trace context in message options, the
attempt history fold, cluster gauge samples, metric helpers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from folio_shared import metrics
from folio_shared.messages import logical_of
from folio_shared.ops.dead import _attempts
from folio_shared.ops.queues import QueueStats
from folio_shared.ops.snapshot import Snapshot
from folio_shared.telemetry import TRACE_OPTION, extract, inject


def test_the_trace_context_round_trips_through_message_options() -> None:
    tracer = TracerProvider().get_tracer("t")
    options: dict[str, object] = {}
    with tracer.start_as_current_span("send") as span:
        inject(options)
    assert str(options[TRACE_OPTION]["traceparent"]).startswith("00-")  # type: ignore[index]
    restored = trace.get_current_span(extract(options)).get_span_context()
    assert restored.trace_id == span.get_span_context().trace_id
    assert restored.span_id == span.get_span_context().span_id
    assert not trace.get_current_span(extract({})).get_span_context().is_valid


def ev(kind: str, status: str | None, **data: object) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, status=status, data=data, at=datetime.now(UTC))


def test_attempts_fold_state_and_error_events_per_run() -> None:
    events = [
        ev("state", "pending"),
        ev("state", "queued", message_id="m"),
        ev("state", "running", attempt=1),
        ev("error", None, attempt=1, error_type="E", error_message="x", traceback="TB1"),
        ev("state", "queued", attempt=1, cause="error", error_type="E", error_message="x"),
        ev("state", "running", attempt=2),
        ev("state", "queued", cause="crash"),  # the reconciler: worker lost
        ev("state", "running", attempt=3),
        ev("state", "dead", attempt=3, cause="error", error_type="E", error_message="y"),
        ev("state", "pending", retried=True),
        ev("state", "running", attempt=1),
        ev("state", "succeeded", attempt=1),
    ]
    got = [(a.run, a.attempt, a.status, a.traceback) for a in _attempts(events)]
    assert got == [
        (0, 1, "retried", "TB1"),
        (0, 2, "crashed", None),
        (0, 3, "dead", None),
        (1, 1, "succeeded", None),
    ]


def test_physical_queues_map_to_their_logical_queue() -> None:
    assert logical_of("ocr.critical") == ("ocr", "critical")
    assert logical_of("documents") == ("documents", "normal")
    assert logical_of("ocr.DQ") == ("ocr", "normal")
    assert logical_of("elsewhere") == ("elsewhere", "normal")


def test_snapshot_samples_only_declared_cluster_gauges() -> None:
    snap = Snapshot(
        redis_up=True,
        database_up=True,
        queues=[QueueStats("ocr", "ocr", "normal", 3, 1, 2, 4, 12.5)],
        paused={"ocr"},
        workers_alive={"documents": 2},
        outbox_backlog=0,
        stalled=1,
    )
    samples = {(name, labels): v for name, labels, v in snap.samples()}
    assert {name for name, _ in samples} <= set(metrics.CLUSTER_GAUGES)
    assert samples[("folio_queue_messages", ("ocr", "in_flight"))] == 2
    assert samples[("folio_queue_oldest_message_age_seconds", ("ocr",))] == 12.5
    assert samples[("folio_queue_paused", ("ocr",))] == 1
    assert samples[("folio_workers_alive", ("ocr",))] == 0
    assert samples[("folio_workers_alive", ("documents",))] == 2
    assert samples[("folio_jobs_stalled", ())] == 1
    for name, (_, labels) in metrics.CLUSTER_GAUGES.items():
        assert all(len(lv) == len(labels) for n, lv in samples if n == name)


def test_helpers_update_the_metrics_they_name() -> None:
    kind = f"k{uuid.uuid4().hex[:6]}"
    metrics.record_embedding_batch(32, 0.5, kind=kind)
    metrics.record_embedding_batch(8, 0.1, kind=kind)
    text = metrics.render(metrics.REGISTRY)[0].decode()
    assert f'folio_embedding_texts_total{{kind="{kind}"}} 40.0' in text
    assert f'folio_embedding_batch_size_count{{kind="{kind}"}} 2.0' in text
    route = f"/r/{uuid.uuid4().hex[:6]}"
    metrics.observe_http_request("GET", route, 200, 0.003)
    text = metrics.render(metrics.REGISTRY)[0].decode()
    assert f'folio_http_requests_total{{method="GET",route="{route}",status="200"}} 1.0' in text
    with metrics.time_stage("render", actor="ocr.page"):
        pass
    assert "folio_job_stage_duration_seconds_count" in metrics.render(metrics.REGISTRY)[0].decode()


def test_spans_are_recorded_only_while_the_process_exports() -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from folio_shared.telemetry import _RecordWhileExporting

    sampler = _RecordWhileExporting()
    provider = TracerProvider(sampler=sampler)
    exported = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("quiet", attributes={"a": 1}) as quiet:
        unsampled: dict[str, object] = {}
        inject(unsampled)
    assert not quiet.is_recording()
    assert quiet.get_span_context().is_valid  # ids still, for propagation and logs
    sampler.exporting = True
    with tracer.start_as_current_span("loud", attributes={"a": 1}) as loud:
        assert loud.is_recording()
    (span,) = exported.get_finished_spans()
    assert span.name == "loud"
    assert span.attributes == {"a": 1}
    # a remote parent marked "not sampled" is recorded anyway
    flags = str(unsampled[TRACE_OPTION]["traceparent"]).rsplit("-", 1)[1]  # type: ignore[index]
    assert int(flags, 16) & 1 == 0  # "not sampled"
    with tracer.start_as_current_span("child", context=extract(unsampled)) as child:
        assert child.is_recording()
    assert child.get_span_context().trace_id == quiet.get_span_context().trace_id
