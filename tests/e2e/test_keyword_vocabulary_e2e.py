"""Keyword search through the API's path (``run_search``, ``mode=keyword``)
with a real worker-docs embedding the query: a question that shares no
word with its document finds it once the tenant's vocabulary is collected
(the ``reembed_chunks`` maintenance round's second part), and nothing
before; the answer is never an error."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import anyio
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.domain.search.repository import SearchFilters, SearchGroup, SearchMode
from folio_api.domain.search.services import Found, run_search
from folio_api.resources import Resources
from folio_shared.broker import create_broker
from folio_shared.db.engine import create_engine, create_session_factory
from folio_shared.db.models import Document, Tenant
from folio_shared.embedding_models import BY_LANGUAGE
from folio_shared.settings import FolioSettings
from folio_worker_docs.chunks_store import replace_document_chunks
from folio_worker_docs.embeddings.select import Models, deployment_models
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages
from folio_worker_docs.text.types import ExtractedPage
from folio_worker_docs.vocabulary import collect

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOCUMENTS = {  # filename -> (language, text)
    "vet.txt": ("en", "Veterinary clinic: neutering of the cat, anesthesia and follow-up visit."),
    "bees.txt": ("en", "Honey bees dance to tell the hive where the flowers are."),
    "clinica.txt": ("pt", "Clínica veterinária: castração do gato, anestesia e retorno."),
    "cafe.txt": ("pt", "Encha o reservatório de água até a marca antes de ligar a cafeteira."),
}
QUERIES = {"kitten surgery": "vet.txt", "cirurgia do bichano": "clinica.txt"}
#: Queries of each model's language, which warm the worker's models up.
WARM = ("how often should the boiler be serviced", "quando vence o pagamento da locação")
#: The longest a search may take here, in seconds (a hang, not a slow machine).
WAIT_S = 60
#: How long a question may take to find its document once the words are
#: collected, in seconds: on a loaded machine the query's embedding can miss
#: the API's wait for it, and that search adds no words (it is asked again).
FOUND_S = 240
#: How long the worker may take to start and load its models, in seconds.
WARM_UP_S = 240


@pytest.fixture(scope="module")
def models() -> Models:
    return deployment_models(BY_LANGUAGE)


@pytest.fixture(scope="module")
async def resources(settings: FolioSettings, docs_worker: None) -> AsyncIterator[Resources]:
    engine = create_engine(settings)
    broker = create_broker(settings, middleware=[])
    yield Resources(
        settings=settings, redis=None, engine=engine, storage=None,  # type: ignore[arg-type]
        broker=broker, sessions=create_session_factory(engine),
    )  # fmt: skip
    broker.close()
    await engine.dispose()


async def _tenant(engine: AsyncEngine, models: Models) -> uuid.UUID:
    async with create_session_factory(engine)() as session, session.begin():
        tenant = Tenant(name=f"t-{uuid.uuid4().hex[:10]}")
        session.add(tenant)
        await session.flush()
        for filename, (language, text) in DOCUMENTS.items():
            document = Document(
                tenant_id=tenant.id, filename=filename, kind="text", status="ready",
                storage_key=f"{tenant.id}/{filename}", sha256=uuid.uuid4().hex * 2, size_bytes=1,
            )  # fmt: skip
            session.add(document)
            await session.flush()
            embedder = models.of(language)
            chunks = chunk_pages(
                [ExtractedPage(1, text)], embedder.token_spans, ChunkingOptions(48, 8)
            )
            await replace_document_chunks(
                session, tenant_id=tenant.id, document_id=document.id, chunks=chunks,
                vectors=embedder.encode([c.text for c in chunks]),
                model_version=embedder.model_version, pipeline_version="test", language=language,
            )  # fmt: skip
    return tenant.id


async def _run(resources: Resources, tenant: uuid.UUID, query: str, mode: SearchMode) -> Found:
    with anyio.fail_after(WAIT_S):
        return await run_search(
            resources, tenant, query, k=10, mode=mode, group=SearchGroup.DOCUMENT,
            filters=SearchFilters(),
        )  # fmt: skip


async def _keyword(resources: Resources, tenant: uuid.UUID, query: str) -> list[str]:
    found = await _run(resources, tenant, query, SearchMode.KEYWORD)
    assert found.mode is SearchMode.KEYWORD
    assert found.fallback is None
    return [hit.filename for hit in found.hits]


@pytest.mark.timeout(900)  # the bounds below: 240 + 2 x 240 s at the most
async def test_keyword_search_adds_the_tenant_s_words_once_collected(
    resources: Resources, engine: AsyncEngine, models: Models
) -> None:
    tenant = await _tenant(engine, models)
    with anyio.fail_after(WARM_UP_S):  # the worker is up, its models loaded
        for query in WARM:
            while (await _run(resources, tenant, query, SearchMode.HYBRID)).fallback is not None:
                pass
    # Given no vocabulary: the query's own words, which no document holds
    for query in QUERIES:
        assert await _keyword(resources, tenant, query) == []

    # When the tenant's words are collected
    done = await collect(create_session_factory(engine), models, tenant_id=tenant)
    assert (done.documents, done.remaining) == (4, 0)

    # Then each question finds its document, in either language
    for query, expected in QUERIES.items():
        with anyio.fail_after(FOUND_S):
            while not (ranking := await _keyword(resources, tenant, query)):
                pass
        assert ranking[0] == expected
