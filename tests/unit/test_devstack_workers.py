"""The environment the devstack gives the workers it starts: a user's
``FOLIO_*`` settings reach them (they were dropped, so e.g.
``FOLIO_PIPELINE_QUERY_THREADS`` could not be tried in a benchmark), and the
stack's own values still win where the worker must follow ``settings``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from folio_devstack.workers import worker_env
from folio_shared.settings import FolioSettings, JobSettings, RedisSettings


def _settings(tmp_path: Path) -> FolioSettings:
    return FolioSettings(
        env="test",
        home=tmp_path,
        redis=RedisSettings(url="redis://127.0.0.1:6999/3"),
        jobs=JobSettings(lease_ms=1234),
    )


def test_exported_folio_settings_reach_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLIO_PIPELINE_QUERY_THREADS", "3")
    monkeypatch.setenv("FOLIO_OCR_SECOND_ENGINE", "false")
    monkeypatch.setenv("FOLIO_LOG_LEVEL", "DEBUG")

    env = worker_env(_settings(tmp_path))

    assert env["FOLIO_PIPELINE_QUERY_THREADS"] == "3"
    assert env["FOLIO_OCR_SECOND_ENGINE"] == "false"
    assert env["FOLIO_LOG_LEVEL"] == "DEBUG"
    # What the worker's own settings make of it, in a process of its own.
    code = (
        "from folio_shared.settings import FolioSettings as S; s = S(); "
        "print(s.pipeline.query_threads, s.ocr.second_engine, s.redis.url, s.jobs.lease_ms)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["3", "False", "redis://127.0.0.1:6999/3", "1234"]


def test_the_stack_values_win_where_the_worker_must_follow_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLIO_ENV", "prod")
    monkeypatch.setenv("FOLIO_REDIS_URL", "redis://elsewhere:6379/0")
    monkeypatch.setenv("FOLIO_JOBS_LEASE_MS", "99999")
    monkeypatch.setenv("FOLIO_PIPELINE_WARM_UP", "true")
    monkeypatch.delenv("FOLIO_LOG_LEVEL", raising=False)
    settings = _settings(tmp_path).model_copy(
        update={"pipeline": _settings(tmp_path).pipeline.model_copy(update={"warm_up": False})}
    )

    env = worker_env(settings, FOLIO_JOBS_MAX_RETRIES="7")

    assert env["FOLIO_ENV"] == "test"
    assert env["FOLIO_REDIS_URL"] == "redis://127.0.0.1:6999/3"
    assert env["FOLIO_JOBS_LEASE_MS"] == "1234"
    assert env["FOLIO_PIPELINE_WARM_UP"] == "false"
    assert env["FOLIO_LOG_LEVEL"] == "WARNING"
    assert env["FOLIO_JOBS_MAX_RETRIES"] == "7"
