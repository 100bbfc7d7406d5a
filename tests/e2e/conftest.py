"""Module fixtures every end-to-end module starts from: its settings, a
real worker-docs and worker-ocr (``workers``), and the real API with a
tenant. A module that needs other settings or workers defines a fixture of
the same name, which takes precedence over these; one that only embeds
(queries, chunks of text documents) asks for ``docs_worker``, a real
worker-docs alone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from e2ekit import Api, e2e_settings, open_api, running_workers

from folio_shared.settings import FolioSettings


@pytest.fixture(scope="module")
def settings(database_url: str, test_servers: Any, tmp_path_factory: Any) -> FolioSettings:
    return e2e_settings(database_url, test_servers.redis_url, tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="module")
def workers(settings: FolioSettings, tmp_path_factory: Any) -> Iterator[None]:
    with running_workers(settings, tmp_path_factory.mktemp("logs")):
        yield


@pytest.fixture(scope="module")
def docs_worker(settings: FolioSettings, tmp_path_factory: Any) -> Iterator[None]:
    with running_workers(settings, tmp_path_factory.mktemp("logs"), ("docs",)):
        yield


@pytest.fixture(scope="module")
async def api(database_url: str, settings: FolioSettings, workers: Any) -> AsyncIterator[Api]:
    async for opened in open_api(database_url, settings):
        yield opened
