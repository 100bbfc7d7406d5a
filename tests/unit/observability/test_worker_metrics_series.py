"""The Metrics middleware keeps each (actor, queue)'s labelled series and
counts every message through them."""

from __future__ import annotations

import uuid

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker
from prometheus_client import REGISTRY

from folio_shared.metrics import JOB_DURATION, JOBS, JOBS_IN_PROGRESS
from folio_shared.worker_metrics import Metrics

ACTOR = f"test.series_{uuid.uuid4().hex[:8]}"
QUEUE = "documents"


def _message() -> MessageProxy:
    return MessageProxy(
        dramatiq.Message(queue_name=QUEUE, actor_name=ACTOR, args=(), kwargs={}, options={})
    )


def _sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, {"actor": ACTOR, "queue": QUEUE, **labels})
    return value or 0.0


def test_messages_of_one_actor_share_its_series_and_are_all_counted() -> None:
    metrics = Metrics(port=0)
    broker = StubBroker()

    # Given two messages of one actor processed, and a third skipped
    for _ in range(2):
        message = _message()
        metrics.before_process_message(broker, message)
        assert _sample("folio_jobs_in_progress") == 1
        metrics.after_process_message(broker, message, result=None)
    skipped = _message()
    metrics.before_process_message(broker, skipped)
    metrics.after_skip_message(broker, skipped)

    # Then every message counted, nothing left in progress
    assert _sample("folio_jobs_total", outcome="succeeded") == 2
    assert _sample("folio_jobs_total", outcome="skipped") == 1
    assert _sample("folio_jobs_in_progress") == 0
    assert _sample("folio_job_duration_seconds_count") == 2

    # And the series were looked up once, as the metrics' own children
    series = metrics._series_of(ACTOR, QUEUE)
    assert metrics._series_of(ACTOR, QUEUE) is series
    assert series.succeeded is JOBS.labels(ACTOR, QUEUE, "succeeded")
    assert series.in_progress is JOBS_IN_PROGRESS.labels(ACTOR, QUEUE)
    assert series.duration is JOB_DURATION.labels(ACTOR, QUEUE)
