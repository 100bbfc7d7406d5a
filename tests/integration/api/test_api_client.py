"""The ``folio-client`` package (sync and async) against the real API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apikit import TenantKey, api_settings, make_tenant, pdf_bytes, text_bytes
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.live_server import LiveServer, serve

from folio_client import (
    AsyncFolio,
    FileRejected,
    Folio,
    InvalidRequest,
    NotFound,
    Unauthorized,
)
from folio_shared.jobs import events

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, test_servers: Any
) -> Iterator[LiveServer]:
    with serve(
        lambda base_url: api_settings(
            tmp_path_factory.mktemp("client"),
            database_url=database_url,
            redis_url=test_servers.redis_url,
            public_base_url=base_url,
        ),
        sse_heartbeat_s=0.3,
    ) as server:
        yield server


@pytest.fixture(scope="module")
async def hana(engine: AsyncEngine) -> TenantKey:
    return await make_tenant(engine, "hana")


def test_sync_client_upload_list_text_and_errors(
    live: LiveServer, hana: TenantKey, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(text_bytes())
    with Folio(live.base_url, hana.key) as folio:
        first = folio.upload(path, metadata={"team": "ops"})
        assert first.document.kind == "text"
        assert first.document.metadata == {"team": "ops"}
        assert first.job is not None
        assert first.job.status in ("queued", "pending")
        again = folio.upload(path.read_bytes(), filename="copy.txt")
        assert again.duplicate
        assert again.document.id == first.document.id
        presigned = folio.upload_presigned(pdf_bytes("client"), filename="p.pdf")
        assert presigned.document.kind == "pdf"
        assert presigned.job is not None
        ids = {d.id for d in folio.documents(limit=1)}
        assert {first.document.id, presigned.document.id} <= ids
        assert folio.job(first.job.id).document_id == first.document.id
        assert any(j.id == first.job.id for j in folio.jobs(document_id=first.document.id))
        with pytest.raises(FileRejected) as rejected:
            folio.upload(b"MZ\x90\x00", filename="x.pdf")
        assert rejected.value.code == "unsupported_file_type"
        with pytest.raises(NotFound):
            folio.document("00000000-0000-0000-0000-000000000000")
        with pytest.raises(InvalidRequest):
            folio.upload(b"", filename="empty.txt")
        cancelled = folio.cancel(first.job.id)
        assert cancelled.status == "cancelled"
        assert folio.wait_for_job(first.job.id, timeout_s=10).status == "cancelled"
    with Folio(live.base_url, "folio_notakey") as anonymous, pytest.raises(Unauthorized):
        anonymous.document(first.document.id)


async def test_async_client_follows_events_to_the_end(
    live: LiveServer, hana: TenantKey, test_servers: Any
) -> None:
    async with AsyncFolio(live.base_url, hana.key) as folio:
        upload = await folio.upload(pdf_bytes("async"), filename="a.pdf")
        assert upload.job is not None
        job_id = upload.job.id

        async def worker() -> None:
            redis = Redis.from_url(test_servers.redis_url)
            try:
                await asyncio.sleep(0.2)
                await events.publish(redis, job_id, "progress", {"stage": "extract", "done": 1})
                await asyncio.sleep(0.5)
                await events.publish(redis, job_id, "state", {"status": "succeeded"})
            finally:
                await redis.aclose()

        thread = threading.Thread(target=asyncio.run, args=(worker(),))
        thread.start()
        seen = [event async for event in folio.events(job_id)]
        thread.join()
        assert [e.type for e in seen] == ["snapshot", "progress", "state"]
        assert seen[-1].terminal
        resumed = [e async for e in folio.events(job_id, last_event_id=seen[1].id)]
        assert [e.type for e in resumed] == ["state"]
        docs = [d async for d in folio.documents(kind="pdf")]
        assert upload.document.id in {d.id for d in docs}
