"""A search's query is embedded while the API prepares the search: the
``queries.embed`` message goes out before the statement that reads the
tenant's chunks (its size, and under ``by-language`` which model they
need), and a real worker-docs embeds it meanwhile. When the tenant needs
the other model than the query language's, the query is embedded again by
that one, and the hits are those of the vector the tenant needs. A hybrid
search also finds the keyword list's part that needs no vector before the
vector arrives, with the hits of one statement finding everything."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa
from e2ekit import start_worker
from redis import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.domain.search.fusion import language_weights
from folio_api.domain.search.keyword_sql import EARLY_MARK
from folio_api.domain.search.repository import (
    SearchFilters,
    SearchGroup,
    SearchMode,
    SearchOptions,
    search,
)
from folio_api.domain.search.services import Found, run_search
from folio_api.resources import Resources
from folio_devstack.workers import WorkerProcess
from folio_shared.broker import create_broker
from folio_shared.db.engine import create_engine, create_session_factory
from folio_shared.db.models import Document, Tenant
from folio_shared.embedding_models import BY_LANGUAGE, DEFAULT_MODEL, LANGUAGE_MODELS
from folio_shared.settings import FolioSettings
from folio_worker_docs.chunks_store import replace_document_chunks
from folio_worker_docs.embeddings.select import Models, deployment_models, load_embedder
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages
from folio_worker_docs.text.types import ExtractedPage

pytestmark = [pytest.mark.integration, pytest.mark.slow]

E5 = LANGUAGE_MODELS["pt"]
DOCUMENTS = {  # filename -> (language, text)
    "boiler.txt": ("en", "Descale the boiler every three months; the gauge must read 1.5 bar."),
    "bees.txt": ("en", "Honey bees dance to tell the hive where the flowers are."),
    "aluguel.txt": ("pt", "O inquilino paga o aluguel até o quinto dia útil de cada mês."),
    "dengue.txt": ("pt", "Elimine a água parada dos vasos para evitar o mosquito da dengue."),
}
ENGLISH = "how often should the heater be cleaned of scale"
PORTUGUESE = "quando vence o pagamento da locação"
#: The longest any step of these tests waits, in seconds.
WAIT_S = 20
#: Far longer than a worker takes to embed a query once warm, in seconds.
SETTLE_S = 2
#: How long the worker may take to start and load its models, in seconds.
WARM_UP_S = 240


@pytest.fixture(scope="module")
def models() -> Models:
    return deployment_models(BY_LANGUAGE)


@pytest.fixture(scope="module")
def docs_worker(
    settings: FolioSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A real worker-docs (this module's own, so a test can pause it)."""
    worker = start_worker(settings, "docs", Path(tmp_path_factory.mktemp("logs")))
    try:
        yield worker
    finally:
        worker.terminate(timeout_s=30)
        worker.close()


@pytest.fixture(scope="module")
async def resources(settings: FolioSettings, docs_worker: None) -> AsyncIterator[Resources]:
    """What the API's search uses: its engine and sessions (behind
    row-level security) and a send-only broker, as the lifespan opens them."""
    engine = create_engine(settings)
    broker = create_broker(settings, middleware=[])
    yield Resources(
        settings=settings, redis=None, engine=engine, storage=None,  # type: ignore[arg-type]
        broker=broker, sessions=create_session_factory(engine),
    )  # fmt: skip
    broker.close()
    await engine.dispose()


async def _tenant(engine: AsyncEngine, models: Models, filenames: list[str]) -> uuid.UUID:
    """A tenant holding ``filenames``, each embedded by its language's model."""
    async with create_session_factory(engine)() as session, session.begin():
        tenant = Tenant(name=f"t-{uuid.uuid4().hex[:10]}")
        session.add(tenant)
        await session.flush()
        for filename in filenames:
            language, text = DOCUMENTS[filename]
            document = Document(
                tenant_id=tenant.id, filename=filename, kind="text", status="ready",
                storage_key=f"{tenant.id}/{filename}", sha256=uuid.uuid4().hex * 2, size_bytes=1,
            )  # fmt: skip
            session.add(document)
            await session.flush()
            embedder = models.of(language)
            chunks = chunk_pages(
                [ExtractedPage(1, text)], embedder.token_spans, ChunkingOptions(16, 2)
            )
            await replace_document_chunks(
                session, tenant_id=tenant.id, document_id=document.id, chunks=chunks,
                vectors=embedder.encode([c.text for c in chunks]),
                model_version=embedder.model_version, pipeline_version="test", language=language,
            )  # fmt: skip
    return tenant.id


async def _run(resources: Resources, tenant: uuid.UUID, query: str) -> Found:
    with anyio.fail_after(WAIT_S):
        return await run_search(
            resources, tenant, query, k=10, mode=SearchMode.HYBRID,
            group=SearchGroup.DOCUMENT, filters=SearchFilters(),
        )  # fmt: skip


async def _expected(
    engine: AsyncEngine, tenant: uuid.UUID, query: str, model: str, weights: str
) -> list[uuid.UUID]:
    """The chunks ``search`` ranks with ``model``'s embedding of ``query``
    (made in this process) and ``weights``' semantic weights."""
    vector = load_embedder(model).encode_query(query)
    options = SearchOptions(language_weights=language_weights(weights))
    async with create_session_factory(engine)() as session:
        hits = await search(
            session, tenant_id=tenant, query_vector=None, query_vectors={model: vector},
            query_text=query, k=10, mode=SearchMode.HYBRID, options=options,
        )  # fmt: skip
    return [h.chunk_id for h in hits]


async def _search_into(
    found: list[Found], resources: Resources, tenant: uuid.UUID, query: str
) -> None:
    found.append(await _run(resources, tenant, query))


async def _embedded_while_locked(
    resources: Resources,
    engine: AsyncEngine,
    settings: FolioSettings,
    tenant: uuid.UUID,
    query: str,
) -> Found:
    """Search ``query`` while the tenant's chunks are locked, so the
    statement that prepares the search waits; assert that a worker
    embeds the query before it runs, then let it run."""
    before = _results(settings.redis.url)
    found: list[Found] = []
    async with engine.connect() as lock:
        await lock.execute(sa.text("LOCK TABLE chunks IN ACCESS EXCLUSIVE MODE"))
        async with anyio.create_task_group() as tg:
            tg.start_soon(_search_into, found, resources, tenant, query)
            with anyio.fail_after(WAIT_S):
                while _results(settings.redis.url) == before:
                    await anyio.sleep(0.05)
            assert not found  # still waiting for the statement
            await lock.rollback()  # the statement runs
    return found[0]


def _results(redis_url: str) -> int:
    """How many query results the workers have stored (Dramatiq keys a
    result by the MD5 of its message's namespace, queue, actor and id)."""
    with Redis.from_url(redis_url) as redis:
        return sum(1 for _ in redis.scan_iter(match="[0-9a-f]" * 32, count=1000))


@pytest.mark.timeout(600)
async def test_the_query_is_embedded_while_the_search_is_prepared(
    resources: Resources, engine: AsyncEngine, models: Models, settings: FolioSettings
) -> None:
    tenant = await _tenant(engine, models, list(DOCUMENTS))
    with anyio.fail_after(WARM_UP_S):  # the worker is up, its models loaded
        for query in (ENGLISH, PORTUGUESE):
            while (await _run(resources, tenant, query)).fallback is not None:
                pass
    for query in (ENGLISH, PORTUGUESE):
        found = await _embedded_while_locked(resources, engine, settings, tenant, query)
        # And the search is answered by meaning, by the query language's model
        assert found.fallback is None
        assert found.hits[0].filename == ("boiler.txt" if query == ENGLISH else "aluguel.txt")
        model = E5 if query == PORTUGUESE else DEFAULT_MODEL
        assert [h.chunk_id for h in found.hits] == await _expected(
            engine, tenant, query, model, BY_LANGUAGE
        )


@pytest.mark.timeout(300)
async def test_a_tenant_needing_the_other_model_gets_the_query_embedded_by_it(
    resources: Resources, engine: AsyncEngine, models: Models, settings: FolioSettings
) -> None:
    # Given a tenant holding English documents only (all-MiniLM-L6-v2)
    tenant = await _tenant(engine, models, ["boiler.txt", "bees.txt"])
    # When a Portuguese question is asked (its language's model: e5)
    query = "com que frequência limpar o calcário da caldeira"
    start = _results(settings.redis.url)
    found = await _run(resources, tenant, query)
    # Then it is ranked by MiniLM's vector, among MiniLM's chunks
    assert found.fallback is None
    assert [h.chunk_id for h in found.hits] == await _expected(
        engine, tenant, query, DEFAULT_MODEL, DEFAULT_MODEL
    )
    assert {h.filename for h in found.hits} == {"boiler.txt", "bees.txt"}
    # after it was embedded twice: by e5 (asked for first), then by MiniLM
    with anyio.fail_after(WAIT_S):
        while _results(settings.redis.url) - start < 2:
            await anyio.sleep(0.05)
    # And the next Portuguese question asks for MiniLM's vector alone, at
    # once: embedded once, while the search is prepared, ranked the same way
    before = _results(settings.redis.url)
    again = await _embedded_while_locked(resources, engine, settings, tenant, query)
    assert [h.chunk_id for h in again.hits] == [h.chunk_id for h in found.hits]
    await anyio.sleep(SETTLE_S)  # a second embedding, had one been asked for, is stored
    assert _results(settings.redis.url) - before == 1


#: SQL: connections idle in a transaction whose last statement found the
#: keyword list's vector-free part.
_KEYWORDS_DONE = sa.text(
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
    "AND starts_with(query, :mark)"
).bindparams(mark=EARLY_MARK)


@pytest.mark.timeout(600)
async def test_the_keyword_list_is_found_while_the_query_is_embedded(
    resources: Resources,
    engine: AsyncEngine,
    models: Models,
    settings: FolioSettings,
    docs_worker: WorkerProcess,
) -> None:
    tenant = await _tenant(engine, models, list(DOCUMENTS))
    with anyio.fail_after(WARM_UP_S):  # the worker is up, its models loaded
        while (await _run(resources, tenant, PORTUGUESE)).fallback is not None:
            pass
    # Given a worker that cannot answer yet (paused, its message waiting)
    before = _results(settings.redis.url)
    found: list[Found] = []
    os.killpg(docs_worker.proc.pid, signal.SIGSTOP)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_search_into, found, resources, tenant, PORTUGUESE)
            # When the search has found the keyword list's part and waits in its transaction
            with anyio.fail_after(WAIT_S):
                async with engine.connect() as conn:
                    while not (await conn.execute(_KEYWORDS_DONE)).scalar_one():
                        await conn.rollback()
                        await anyio.sleep(0.02)
            # Then no vector existed yet, and the search still waits for it
            assert _results(settings.redis.url) == before
            assert not found
            os.killpg(docs_worker.proc.pid, signal.SIGCONT)
    finally:
        os.killpg(docs_worker.proc.pid, signal.SIGCONT)
    # And once the worker embeds the query, the hits are one statement's
    assert found[0].fallback is None
    assert found[0].hits[0].filename == "aluguel.txt"
    assert [h.chunk_id for h in found[0].hits] == await _expected(
        engine, tenant, PORTUGUESE, E5, BY_LANGUAGE
    )
