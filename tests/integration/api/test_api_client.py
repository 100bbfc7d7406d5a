"""The ``folio-client`` package (sync and async) against the real API,
search included (hits carry the chunk's text, snippet and document metadata)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, api_settings, make_tenant, pdf_bytes, text_bytes
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from support.jobs import finish_as_worker
from support.live_server import LiveServer, serve
from support.plain_kinds import DONE, WORK, record_kinds

from folio_client import (
    AsyncFolio,
    FileRejected,
    Folio,
    Forbidden,
    InvalidRequest,
    NotFound,
    Percentiles,
    Unauthorized,
)
from folio_shared.db.engine import async_database_url, create_session_factory
from folio_shared.db.models import Document
from folio_shared.jobs import events
from folio_shared.storage import create_storage
from folio_worker_docs.chunks_store import replace_document_chunks
from folio_worker_docs.embeddings.model import get_embedder
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages
from folio_worker_docs.text.types import ExtractedPage

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
    live: LiveServer, hana: TenantKey, test_servers: Any, database_url: str
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
                await finish_as_worker(database_url, redis, job_id, "succeeded")
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


TEXTS = {
    "lease.txt": "O locatário devolverá o imóvel pintado e pagará a multa de rescisão.",
    "boiler.txt": "Flush the boiler tank every six months to remove sediment.",
}


@pytest.fixture(scope="module")
async def indexed(live: LiveServer, engine: AsyncEngine, tmp_path_factory: Any) -> TenantKey:
    """Two uploaded documents, chunked and embedded as worker-docs does."""
    tenant = await make_tenant(engine, "searcher")
    folder: Path = tmp_path_factory.mktemp("docs")
    embedder = get_embedder()
    ids = {}
    with Folio(live.base_url, tenant.key) as folio:
        for name, text in TEXTS.items():
            (folder / name).write_text(text)
            team = "legal" if name == "lease.txt" else "ops"
            ids[name] = folio.upload(folder / name, metadata={"team": team}).document.id
    async with create_session_factory(engine)() as session, session.begin():
        for name, text in TEXTS.items():
            document_id = uuid.UUID(ids[name])
            chunks = chunk_pages([ExtractedPage(1, text)], embedder.token_spans, ChunkingOptions())
            await replace_document_chunks(
                session,
                tenant_id=tenant.tenant_id,
                document_id=document_id,
                chunks=chunks,
                vectors=embedder.encode([c.text for c in chunks]),
                model_version=embedder.model_version,
                pipeline_version="test",
                language="pt" if name == "lease.txt" else "en",
            )
            await session.execute(
                sa.update(Document).where(Document.id == document_id).values(status="ready")
            )
    return tenant


def test_sync_client_search_returns_text_snippet_and_metadata(
    live: LiveServer, indexed: TenantKey
) -> None:
    with Folio(live.base_url, indexed.key) as folio:
        # accents folded, Portuguese stemming: "imovel" finds "imóvel",
        # "pagar" finds "pagará"
        hits = folio.search("imovel pagar", mode="keyword")
        assert [h.raw["filename"] for h in hits] == ["lease.txt"]
        hit = hits[0]
        assert hit.text == TEXTS["lease.txt"]
        assert "<mark>" in hit.snippet
        assert hit.metadata["team"] == "legal"
        assert hit.page_start == hit.page_end == 1
        assert hit.document_score > 0
        only_ops = folio.search("boiler imovel", mode="keyword", metadata={"team": "ops"})
        assert [h.raw["filename"] for h in only_ops] == ["boiler.txt"]
        excluded = folio.search("boiler -sediment", mode="keyword")
        assert excluded == []
        # two dashes exclude too (the statement negates the excluded text once)
        assert folio.search("boiler --sediment", mode="keyword") == []


async def test_async_client_search_groups_by_document_or_chunk(
    live: LiveServer, indexed: TenantKey
) -> None:
    async with AsyncFolio(live.base_url, indexed.key) as folio:
        hits = await folio.search("sediment boiler tank", mode="keyword", group="chunk")
        assert hits[0].text == TEXTS["boiler.txt"]
        assert hits[0].raw["chunk_index"] == 0


def test_sync_client_submits_jobs_batches_and_reads_kinds_and_stats(
    live: LiveServer, hana: TenantKey
) -> None:
    asyncio.run(_record_kinds(live))
    with Folio(live.base_url, hana.key) as folio:
        [kind] = [k for k in folio.job_types() if k.name == WORK]
        assert kind.queues
        assert kind.payload_schema
        job = folio.submit(WORK, {"key": "c"}, priority="high", metadata={"via": "client"})
        assert (job.status, job.raw["actor"], job.raw["metadata"]) == (
            "queued",
            WORK,
            {"via": "client"},
        )
        with pytest.raises(InvalidRequest) as invalid:
            folio.submit(WORK, {"key": 1})
        assert invalid.value.code == "invalid_payload"
        assert invalid.value.problem["errors"][0]["key"] == "payload.key"
        with pytest.raises(Forbidden):
            folio.submit(WORK, {"key": "c"}, priority="critical")
        batch = folio.create_batch(
            [{"type": WORK, "payload": {"key": "c"}}] * 3,
            on_complete={"type": DONE, "payload": {"key": "c"}},
        )
        assert len(batch.jobs or []) == 3
        assert all(job.status in ("pending", "queued") for job in batch.jobs or [])
        again = folio.batch(batch.id)
        assert (again.total, again.state, again.done) == (3, "running", False)
        [stats] = folio.job_stats(kind=WORK).kinds
        assert stats.type == WORK
        assert stats.counts["queued"] >= 4
        assert isinstance(stats.queue_wait_ms, Percentiles)


async def _record_kinds(live: LiveServer) -> None:
    engine = create_async_engine(async_database_url(live.settings.database.url))
    try:
        await record_kinds(engine)
    finally:
        await engine.dispose()


async def test_both_clients_upload_a_job_s_input(live: LiveServer, hana: TenantKey) -> None:
    storage = create_storage(live.settings)
    with Folio(live.base_url, hana.key) as folio:
        key = folio.upload_job_input(b"RIFF sync", filename="a.wav", content_type="audio/wav")
    async with AsyncFolio(live.base_url, hana.key) as folio_async:
        other = await folio_async.upload_job_input(b"async bytes", filename="b.bin")
    assert key.startswith(f"tenants/{hana.tenant_id}/inputs/")
    assert key.endswith("/a.wav")
    assert await storage.get_bytes(key) == b"RIFF sync"
    assert (await storage.stat(key)).content_type == "audio/wav"  # type: ignore[union-attr]
    assert other.startswith(f"tenants/{hana.tenant_id}/inputs/")
    assert await storage.get_bytes(other) == b"async bytes"


async def test_both_clients_read_a_document_s_chunks_in_order(
    live: LiveServer, indexed: TenantKey
) -> None:
    with Folio(live.base_url, indexed.key) as folio:
        [hit] = folio.search("imovel pagar", mode="keyword")
        chunks = list(folio.chunks(hit.document_id, limit=1))
    async with AsyncFolio(live.base_url, indexed.key) as folio_async:
        again = [c async for c in folio_async.chunks(hit.document_id)]
    assert [c.text for c in chunks] == [TEXTS["lease.txt"]]
    assert chunks[0].id == hit.chunk_id
    assert (chunks[0].index, chunks[0].page_start, chunks[0].token_count > 0) == (0, 1, True)
    assert [c.id for c in again] == [c.id for c in chunks]
