"""Folio search as a LangChain and a LlamaIndex retriever, against the real
API over HTTP, a real worker-docs and the real embedding model: documents
uploaded with the client are processed, and each retriever (sync and
async) returns the chunk that answers a question worded unlike its text."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2ekit import new_tenant, start_worker
from langchain_core.documents import Document as LangChainDocument
from llama_index.core.schema import NodeWithScore
from redis import asyncio as aioredis
from sqlalchemy.ext.asyncio import create_async_engine
from support.live_server import LiveServer, serve

from folio_client import AsyncFolio, Folio
from folio_client.integrations import SearchOptions
from folio_client.integrations.langchain import FolioRetriever as LangChainRetriever
from folio_client.integrations.llamaindex import FolioRetriever as LlamaIndexRetriever
from folio_shared.broker import create_broker
from folio_shared.jobs import Jobs
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TEXTS = {
    "glaciers.md": "# Glaciers\n\nIce sheets advance and retreat over thousands of years.\n",
    "bakery.md": "# Sourdough\n\nThe starter is fed flour and water every morning.\n",
    "tides.md": "# Tides\n\nThe moon's pull raises the sea twice a day along the coast.\n",
}
QUESTION = "frozen rivers shaping the land"


@pytest.fixture(scope="module")
def live(settings: FolioSettings, tmp_path_factory: Any) -> Iterator[LiveServer]:
    worker = start_worker(settings, "docs", tmp_path_factory.mktemp("logs"))
    try:
        with serve(lambda _: settings) as server:
            yield server
    finally:
        worker.terminate(timeout_s=30)
        worker.close()


@pytest.fixture(scope="module")
async def key(database_url: str, settings: FolioSettings) -> AsyncIterator[str]:
    engine = create_async_engine(database_url)
    broker = create_broker(settings)
    redis = aioredis.Redis.from_url(settings.redis.url)
    try:
        _, tenant_key = await new_tenant(Jobs(engine, broker, redis), "rag")
        yield tenant_key
    finally:
        await redis.aclose()
        broker.close()
        await engine.dispose()


@pytest.fixture(scope="module")
def glacier_id(live: LiveServer, key: str, tmp_path_factory: Any) -> str:
    folder: Path = tmp_path_factory.mktemp("docs")
    ids = {}
    with Folio(live.base_url, key) as folio:
        for name, text in TEXTS.items():
            (folder / name).write_text(text)
            upload = folio.upload(folder / name, metadata={"set": "rag"})
            assert upload.job is not None
            ids[name] = upload.document.id
            assert folio.wait_for_job(upload.job.id, timeout_s=300).status == "succeeded"
    return ids["glaciers.md"]


def test_the_langchain_retriever_finds_the_chunk_that_answers(
    live: LiveServer, key: str, glacier_id: str
) -> None:
    with Folio(live.base_url, key) as folio:
        retriever = LangChainRetriever(client=folio, options=SearchOptions(k=2, mode="semantic"))
        docs = retriever.invoke(QUESTION)
    assert all(isinstance(d, LangChainDocument) for d in docs)
    top = docs[0]
    assert top.metadata["document_id"] == glacier_id
    assert "Ice sheets advance" in top.page_content
    assert top.metadata["filename"] == "glaciers.md"
    assert top.metadata["labels"]["set"] == "rag"  # the document's metadata
    assert top.id == top.metadata["chunk_id"]
    assert top.metadata["page_start"] == 1
    assert len(docs) == 2


async def test_the_langchain_retriever_awaits_the_async_client(
    live: LiveServer, key: str, glacier_id: str
) -> None:
    async with AsyncFolio(live.base_url, key) as folio:
        retriever = LangChainRetriever(async_client=folio, options=SearchOptions(k=1))
        [top] = await retriever.ainvoke(QUESTION)
    assert top.metadata["document_id"] == glacier_id


async def test_the_llamaindex_retriever_finds_the_chunk_that_answers(
    live: LiveServer, key: str, glacier_id: str
) -> None:
    with Folio(live.base_url, key) as folio:
        nodes = LlamaIndexRetriever(folio, options=SearchOptions(k=3, mode="semantic")).retrieve(
            QUESTION
        )
    async with AsyncFolio(live.base_url, key) as afolio:
        again = await LlamaIndexRetriever(async_client=afolio).aretrieve(QUESTION)
    assert all(isinstance(n, NodeWithScore) for n in nodes)
    assert nodes[0].node.metadata["document_id"] == glacier_id
    assert len(nodes) == 3
    assert "Ice sheets advance" in nodes[0].node.get_content()
    assert nodes[0].score is not None
    assert nodes[0].score >= nodes[-1].score  # type: ignore[operator]
    assert again[0].node.node_id == nodes[0].node.node_id
    assert uuid.UUID(nodes[0].node.node_id)
