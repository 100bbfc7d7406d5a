"""Fixtures of the observability tests: a fresh namespace per test; the
in-process worker (``worker``, serving metrics on a private port), ``jobs``,
``redis`` and ``spans`` come from :mod:`support.fixtures`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.jobs import job_settings

from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(database_url: str, test_servers: Any, tmp_path: Path) -> FolioSettings:
    # Quicker retries than the job-engine tests: dead letters come sooner.
    return job_settings(
        database_url, test_servers.redis_url, tmp_path, min_backoff_ms=20, max_backoff_ms=50
    )
