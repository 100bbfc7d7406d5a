"""Search queries are embedded on threads of their own in worker-docs: a
slow document being embedded in the same worker process does not hold
them up. A real worker-docs process with one worker thread (so the slow
document holds every document thread, as N slow documents hold N) embeds a
large text while searches go through the real API."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from e2ekit import Api, e2e_settings, open_api, start_worker, submit

from folio_shared.db.enums import DocumentKind
from folio_shared.db.models import Document
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Words of the slow document (seconds to a minute of embedding).
WORDS = 20_000
#: Pause between two searches, in seconds.
PAUSE_S = 0.2


@pytest.fixture(scope="module")
def settings(database_url: str, test_servers: Any, tmp_path_factory: Any) -> FolioSettings:
    root = tmp_path_factory.mktemp("e2e")
    return e2e_settings(database_url, test_servers.redis_url, root, large_bytes=64 * 1024**2)


@pytest.fixture(scope="module")
async def api(database_url: str, settings: FolioSettings) -> AsyncIterator[Api]:
    async for opened in open_api(database_url, settings):
        yield opened


def long_text(words: int) -> bytes:
    """A text whose chunks all differ (nothing to reuse): seconds of embedding."""
    rng = random.Random(25)
    vocabulary = [f"{a}{b}" for a in ("river", "stone", "ledger", "harbor") for b in range(400)]
    return " ".join(rng.choice(vocabulary) for _ in range(words)).encode()


async def search(api: Api, query: str) -> tuple[float, Any]:
    started = time.monotonic()
    answer = await api.client.get(
        "/v1/search", params={"q": query, "mode": "semantic", "k": 3}, headers=api.headers
    )
    return time.monotonic() - started, answer


async def status_of(api: Api, document_id: Any) -> str:
    async with api.engine.connect() as conn:
        status = await conn.scalar(sa.select(Document.status).where(Document.id == document_id))
    return str(status)


@pytest.mark.timeout(900)
async def test_searches_are_answered_while_a_slow_document_is_embedded(
    api: Api, settings: FolioSettings, tmp_path: Path
) -> None:
    # Given a worker-docs with one document thread, its model loaded
    worker = start_worker(settings, "docs", tmp_path, threads=1)
    try:
        deadline = time.monotonic() + 300
        while (await search(api, "warm up"))[1].status_code != 200:
            assert time.monotonic() < deadline, "worker-docs never answered a search"
        print(f"worker ready: {time.monotonic() - deadline + 300:.1f} s")

        # When a large text is being processed (its embedding takes seconds)
        started = time.monotonic()
        slow = await submit(api, DocumentKind.TEXT, "text/plain", long_text(WORDS))
        while await status_of(api, slow) != "processing":
            assert time.monotonic() - started < 60, "the slow document never started"
            await asyncio.sleep(0.1)
        # and searches run meanwhile, one after the other, until it is done
        latencies = []
        while await status_of(api, slow) == "processing":
            assert time.monotonic() - started < 600, "the slow document never finished"
            latency, answer = await search(api, f"harbor ledger {len(latencies)}")
            # Then each is answered by the model (no 503: no query waited
            # the API's 5 s for a worker thread)
            assert answer.status_code == 200, (len(latencies), answer.text)
            assert answer.json().get("fallback") is None, answer.json()
            latencies.append(latency)
            await asyncio.sleep(PAUSE_S)
        document_s = time.monotonic() - started
        assert await status_of(api, slow) == "ready"
    finally:
        worker.terminate(timeout_s=30)
        worker.close()

    # and quickly, all through the document's processing
    assert len(latencies) >= 10, (len(latencies), document_s)
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(
        f"{len(latencies)} searches in {document_s:.1f} s:"
        f" p95 {p95:.3f} s, max {max(latencies):.3f} s"
    )
    assert p95 < document_s / 10, (p95, document_s)
