"""Dramatiq's worker knows Folio's broker handles results: it counts only
an instance of exactly ``dramatiq.results.Results`` (a subclass made it log,
for every job actor that returned a value, that the value was discarded)."""

from __future__ import annotations

from types import SimpleNamespace

from dramatiq.results import Results
from dramatiq.worker import has_results_middleware

from folio_shared.broker import UntrackedResults, create_broker
from folio_shared.settings import FolioSettings, RedisSettings


def test_the_worker_sees_the_results_middleware() -> None:
    broker = create_broker(
        FolioSettings(env="test", redis=RedisSettings(url="redis://127.0.0.1:9/0"))
    )
    try:
        assert has_results_middleware(broker)
        (results,) = [m for m in broker.middleware if isinstance(m, Results)]
        assert results.store_results is True
        assert isinstance(results.backend, UntrackedResults)
    finally:
        broker.close()


def test_a_tracked_job_result_is_left_to_its_job_row() -> None:
    # Given a backend whose Redis does not exist: any store would fail
    backend = UntrackedResults(url="redis://127.0.0.1:9/0", namespace="t")
    job = SimpleNamespace(options={"job_id": "0b8e"}, queue_name="q", actor_name="a")
    # When a tracked job's result or exception is handed to it, nothing is stored
    backend.store_result(job, {"summary": 1}, 60_000)
    backend.store_exception(job, RuntimeError("x"), 60_000)
