"""Fixtures of the example kinds' tests: job-engine settings (as the
job-engine tests'), and the examples' sources importable when the example
packages are not installed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from support.jobs import job_settings

from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
for src in sorted(EXAMPLES.glob("*/src")):
    if str(src) not in sys.path:
        sys.path.append(str(src))


@pytest.fixture
def settings(database_url: str, test_servers: Any, tmp_path: Path) -> FolioSettings:
    return job_settings(database_url, test_servers.redis_url, tmp_path)
