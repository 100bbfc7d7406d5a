"""Fixtures of the job-engine tests: settings with quick leases and retries.

Each test module gets a fresh migrated database (``database_url``) and each
test its own broker namespace in the test Redis, so nothing leaks between
tests. ``worker`` (the test actors in this process, on Folio's real
middleware stack), ``jobs`` and ``key`` come from :mod:`support.fixtures`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.jobs import job_settings

from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(database_url: str, test_servers: Any, tmp_path: Path) -> FolioSettings:
    return job_settings(database_url, test_servers.redis_url, tmp_path)
