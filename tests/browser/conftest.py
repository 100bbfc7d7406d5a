"""The browser tests' fixtures: the API on a loopback port with real
worker-docs and worker-ocr processes (one set per test module), and
Debian's chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from browserkit import CHROMIUM, SHOTS
from e2e.e2ekit import Api, e2e_settings, open_api, running_workers
from playwright.async_api import Browser, async_playwright

from folio_shared.settings import FolioSettings


@pytest.fixture(scope="module")
def settings(database_url: str, test_servers: Any, tmp_path_factory: Any) -> FolioSettings:
    return e2e_settings(database_url, test_servers.redis_url, tmp_path_factory.mktemp("ui"))


@pytest.fixture(scope="module")
async def api(
    database_url: str, settings: FolioSettings, tmp_path_factory: Any
) -> AsyncIterator[Api]:
    """The API on a loopback port, with a real worker-docs and worker-ocr."""
    with running_workers(settings, tmp_path_factory.mktemp("logs")):
        async for opened in open_api(database_url, settings):
            yield opened


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    SHOTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        await chromium.close()
