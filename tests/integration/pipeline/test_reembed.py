"""Re-embedding after a model change: every chunk of the tenant ends with
its new model's vectors, another tenant's chunks are left alone, and
search answers from the old vectors, exactly as before the switch, until
the tenant's new vectors are all there; then as a tenant indexed by the
new models from the start."""

from __future__ import annotations

import asyncio
import uuid

import msgspec
import numpy as np
import pytest
import sqlalchemy as sa
from pipeline_helpers import add_document, make_tenant
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from folio_api.domain.search.fusion import language_weights, preferred
from folio_api.domain.search.preparing import begin_snapshot, prepare
from folio_api.domain.search.repository import (
    SearchGroup,
    SearchMode,
    SearchOptions,
    search,
)
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import Chunk, StagedEmbedding
from folio_shared.embedding_models import BY_LANGUAGE, DEFAULT_MODEL, models_of
from folio_shared.language import detect_query_language
from folio_shared.maintenance.reembedding import count_stale_documents
from folio_shared.messages import ReembedChunksV1
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import Models, deployment_models
from folio_worker_docs.reembed import maintenance_round, reembed, stale_documents
from folio_worker_docs.text.chunking import ChunkingOptions

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOCUMENTS = {  # filename -> (language, text)
    "boiler.txt": ("en", "Descale the boiler every three months; the gauge must read 1.5 bar."),
    "bees.txt": ("en", "Honey bees dance to tell the hive where the flowers are and how far away."),
    "aluguel.txt": ("pt", "O inquilino paga o aluguel até o quinto dia útil de cada mês."),
    "dengue.txt": ("pt", "Elimine a água parada dos vasos para evitar o mosquito da dengue."),
    "vacina.txt": ("pt", "A vacina do cachorro deve ser reforçada todo ano no veterinário."),
}
QUERIES = (
    "how often should the boiler be descaled",
    "quando vence o pagamento da locação",
    "como prevenir a doença transmitida pelo inseto",
)
MODES = (SearchMode.SEMANTIC, SearchMode.HYBRID)

Answer = list[tuple[str, int, float]]


@pytest.fixture(scope="module")
def models() -> Models:
    return deployment_models(BY_LANGUAGE)


async def _index(
    session: AsyncSession, models: Models, tenant_id: uuid.UUID, names: list[str]
) -> None:
    for filename in names:
        language, text = DOCUMENTS[filename]
        await add_document(
            session, models.of(language), tenant_id, filename, [text],
            options=ChunkingOptions(8, 2), language=language,
        )  # fmt: skip


def _rows(hits: list) -> Answer:  # type: ignore[type-arg]
    return [(h.filename, h.chunk_index, round(h.score, 4)) for h in hits]


async def _by_language(
    sessions: async_sessionmaker[AsyncSession],
    models: Models,
    tenant: uuid.UUID,
    query: str,
    mode: SearchMode,
) -> Answer:
    """What a ``by-language`` deployment answers, on the API's path: one
    snapshot, the model chosen by ``prepare``, the query embedded by it."""
    async with sessions() as session:
        await begin_snapshot(session)
        order = preferred(models_of(BY_LANGUAGE), detect_query_language(query))
        prepared = await prepare(session, tenant, SearchOptions(), order)
        (model,) = prepared.models
        encoder = next(
            m for m in (models.default, *models.by_language.values())
            if m.model_version.startswith(f"{model}@")
        )  # fmt: skip
        hits = await search(
            session, tenant_id=tenant, query_vector=None, query_text=query, mode=mode,
            query_vectors={model: encoder.encode_query(query)}, prepared=prepared, k=50,
            options=SearchOptions(language_weights=language_weights(model)),
            group=SearchGroup.CHUNK,
        )  # fmt: skip
    return _rows(hits)


async def _old_deployment(
    session: AsyncSession, old: Embedder, tenant: uuid.UUID, query: str, mode: SearchMode
) -> Answer:
    """What the all-MiniLM-L6-v2 deployment answered before the change."""
    hits = await search(
        session, tenant_id=tenant, query_vector=old.encode_query(query), query_text=query,
        mode=mode, k=50, options=SearchOptions(language_weights=language_weights(DEFAULT_MODEL)),
        group=SearchGroup.CHUNK,
    )  # fmt: skip
    return _rows(hits)


async def test_search_answers_from_the_old_vectors_until_the_switch_is_complete(
    engine: AsyncEngine, embedder: Embedder, models: Models
) -> None:
    sessions = create_session_factory(engine)
    old = Models(embedder)  # every chunk by all-MiniLM-L6-v2
    names = list(DOCUMENTS)
    async with sessions() as session, session.begin():
        tenant = await make_tenant(session)
        other = await make_tenant(session)
        reference = await make_tenant(session)  # indexed by-language from the start
        await _index(session, old, tenant, names)
        await _index(session, old, other, ["bees.txt", "aluguel.txt"])
        await _index(session, models, reference, names)
    cases = [(q, m) for q in QUERIES for m in MODES]
    async with sessions() as session:
        before = {c: await _old_deployment(session, embedder, tenant, *c) for c in cases}
        after = {c: await _by_language(sessions, models, reference, *c) for c in cases}
        assert await stale_documents(session, model_version=models, tenant_id=tenant) == 3
    # the Portuguese queries' answers change with the switch: the test can tell them apart
    assert any(before[c] != after[c] for c in cases)

    # Given the deployment now by-language, asked under queries while it switches
    seen: list[tuple[tuple[str, SearchMode], Answer]] = []
    switching = True

    async def ask() -> None:
        while switching:
            for case in cases:
                seen.append((case, await _by_language(sessions, models, tenant, *case)))
            await asyncio.sleep(0)

    asker = asyncio.create_task(ask())
    # When its chunks are re-embedded one document per round
    rounds = []
    while not rounds or rounds[-1].remaining:
        rounds.append(await reembed(sessions, models, tenant_id=tenant, max_documents=1))
        if rounds[-1].remaining:
            # Then until the last document is done, the answers are the old deployment's
            for case in cases:
                assert await _by_language(sessions, models, tenant, *case) == before[case]
    switching = False
    await asker

    assert [(r.documents, r.remaining, r.switched_tenants) for r in rounds] == [
        (1, 2, 0), (1, 1, 0), (1, 0, 1),
    ]  # fmt: skip
    # every answer during the switch was the old one or, once switched, the new one
    assert seen
    assert all(answer in (before[case], after[case]) for case, answer in seen)
    # and after it, the answers of a tenant indexed by the new models
    for case in cases:
        assert await _by_language(sessions, models, tenant, *case) == after[case]
    async with sessions() as session:
        rows = (
            await session.execute(
                sa.select(
                    Chunk.tenant_id, Chunk.text, Chunk.language, Chunk.embedding,
                    Chunk.model_version,
                )
            )
        ).all()  # fmt: skip
        assert await session.scalar(sa.select(sa.func.count()).select_from(StagedEmbedding)) == 0
    mine = [r for r in rows if r.tenant_id == tenant]
    for language in ("pt", "en"):
        theirs = [r for r in mine if r.language == language]
        model = models.of(language)
        assert {r.model_version for r in theirs} == {model.model_version}
        expected = model.encode([r.text for r in theirs])
        stored = np.asarray([np.asarray(r.embedding, dtype=np.float32) for r in theirs])
        assert float((expected * stored).sum(axis=1).min()) > 0.9999
    # another tenant's chunks are not touched
    assert {r.model_version for r in rows if r.tenant_id == other} == {embedder.model_version}
    # a second run has nothing left to do
    again = await reembed(sessions, models, tenant_id=tenant)
    assert (again.documents, again.chunks, again.remaining, again.switched_chunks) == (0, 0, 0, 0)


async def test_a_bounded_run_stops_after_its_chunks_and_two_runs_share_the_work(
    engine: AsyncEngine, embedder: Embedder, models: Models
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session, session.begin():
        tenant = await make_tenant(session)
        await _index(session, Models(embedder), tenant, list(DOCUMENTS))
    # a round bounded to one chunk does one document
    first = await reembed(sessions, models, tenant_id=tenant, max_chunks=1)
    assert (first.documents, first.remaining, first.switched_tenants) == (1, 2, 0)
    # two runs at once: each document embedded once, the tenant switched once
    both = await asyncio.gather(
        reembed(sessions, models, tenant_id=tenant), reembed(sessions, models, tenant_id=tenant)
    )
    assert sum(r.documents for r in both) == 2
    assert sum(r.switched_tenants for r in both) == 1
    assert all(r.remaining == 0 for r in both)
    async with sessions() as session:
        versions = set(
            await session.scalars(
                sa.select(Chunk.model_version).where(
                    Chunk.tenant_id == tenant, Chunk.language == "pt"
                )
            )
        )
    assert versions == {models.of("pt").model_version}


async def test_the_maintenance_round_is_bounded_counted_and_can_dry_run(
    engine: AsyncEngine, embedder: Embedder, models: Models
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session, session.begin():
        tenant = await make_tenant(session)
        await _index(session, Models(embedder), tenant, list(DOCUMENTS))
    msg = ReembedChunksV1(tenant_id=str(tenant), max_chunks=1)
    # a dry run counts, on the worker (exact versions) and in the kernel (names) alike
    dry = await maintenance_round(msgspec.structs.replace(msg, dry_run=True), sessions, models)
    assert (dry.dry_run, dry.matched, dry.changed) == (True, 3, 0)
    async with sessions() as session:
        assert await count_stale_documents(session, BY_LANGUAGE, tenant) == 3
    counted = REGISTRY.get_sample_value("folio_maintenance_reembedded_chunks_total") or 0.0
    # a round does at most max_chunks chunks (one document, never split)
    first = await maintenance_round(msg, sessions, models)
    assert first.details["documents"] == 1
    assert first.details["remaining_documents"] == 2
    assert first.details["switched_tenants"] == 0
    chunks = first.details["chunks"]
    assert (
        REGISTRY.get_sample_value("folio_maintenance_reembedded_chunks_total") == counted + chunks
    )
    assert REGISTRY.get_sample_value("folio_maintenance_reembed_stale_documents") == 2
    async with sessions() as session:
        assert await count_stale_documents(session, BY_LANGUAGE, tenant) == 2
    # rounds go on until the tenant switches; then a round finds nothing to do
    while (done := await maintenance_round(msg, sessions, models)).details["remaining_documents"]:
        pass
    assert done.details["switched_tenants"] == 1
    idle = await maintenance_round(msgspec.structs.replace(msg, max_chunks=None), sessions, models)
    assert idle.details["documents"] == idle.details["remaining_documents"] == 0
    assert REGISTRY.get_sample_value("folio_maintenance_reembed_stale_documents") == 0
