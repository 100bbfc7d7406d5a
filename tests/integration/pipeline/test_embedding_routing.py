"""``by-language``: each document embedded by the model of its language
(Portuguese by multilingual-e5-small, the rest by all-MiniLM-L6-v2), a
query compared only with the chunks of the model that embedded it, one
semantic list per model; re-embedding moves each chunk to its language's
model."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from pipeline_helpers import add_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio_api.domain.search.fusion import preferred
from folio_api.domain.search.keywords import parse_keywords
from folio_api.domain.search.preparing import prepare
from folio_api.domain.search.repository import (
    SearchGroup,
    SearchMode,
    SearchOptions,
    search,
)
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import Chunk
from folio_shared.embedding_models import BY_LANGUAGE, DEFAULT_MODEL, LANGUAGE_MODELS, models_of
from folio_shared.language import detect_query_language
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import Models, deployment_models
from folio_worker_docs.reembed import reembed, stale_documents
from folio_worker_docs.text.chunking import ChunkingOptions

pytestmark = [pytest.mark.integration, pytest.mark.slow]

E5 = LANGUAGE_MODELS["pt"]
DOCUMENTS = {  # filename -> (language, text)
    "boiler.txt": ("en", "Descale the boiler every three months; the gauge must read 1.5 bar."),
    "bees.txt": ("en", "Honey bees dance to tell the hive where the flowers are."),
    "aluguel.txt": ("pt", "O inquilino paga o aluguel até o quinto dia útil de cada mês."),
    "dengue.txt": ("pt", "Elimine a água parada dos vasos para evitar o mosquito da dengue."),
}
QUERIES = {
    "how often should the heater be cleaned of scale": "boiler.txt",
    "quando vence o pagamento da locação": "aluguel.txt",
    "como prevenir a doença transmitida pelo inseto": "dengue.txt",
}


@pytest.fixture(scope="module")
def models() -> Models:
    return deployment_models(BY_LANGUAGE)


async def _index(session: AsyncSession, models: Embedder | Models, tenant: uuid.UUID) -> None:
    routed = models if isinstance(models, Models) else Models(models)
    for filename, (language, text) in DOCUMENTS.items():
        await add_document(
            session, routed.of(language), tenant, filename, [text],
            options=ChunkingOptions(16, 2), language=language,
        )  # fmt: skip


def _vectors(models: Models, text: str) -> dict[str, list[float]]:
    return {
        m.model_version.split("@")[0]: m.encode_query(text)
        for m in (models.default, *models.by_language.values())
    }


async def test_each_language_by_its_model_and_queries_by_each(
    session: AsyncSession, models: Models
) -> None:
    tenant = await make_tenant(session)
    await _index(session, models, tenant)
    versions = dict(
        (
            await session.execute(
                sa.select(Chunk.language, Chunk.model_version)
                .where(Chunk.tenant_id == tenant)
                .distinct()
            )
        ).all()
    )
    assert versions["pt"].startswith(f"{E5}@")
    assert versions["en"].startswith(f"{DEFAULT_MODEL}@")

    for query, expected in QUERIES.items():
        vectors = _vectors(models, query)
        language = DOCUMENTS[expected][0]
        for mode in (SearchMode.SEMANTIC, SearchMode.HYBRID):
            hits = await search(
                session, tenant_id=tenant, query_vector=None, query_vectors=vectors,
                query_text=query, mode=mode,
            )  # fmt: skip
            assert hits[0].filename == expected, (query, mode, [h.filename for h in hits])
        # by meaning, a query is compared only with its language's model's chunks
        hits = await search(
            session, tenant_id=tenant, query_vector=None, query_vectors=vectors,
            query_text=query, mode=SearchMode.SEMANTIC, group=SearchGroup.CHUNK, k=50,
        )  # fmt: skip
        assert {h.language for h in hits} == {language}
        assert all(h.semantic_rank is not None for h in hits)


async def test_a_tenant_without_the_querys_model_is_searched_with_the_other(
    session: AsyncSession, models: Models
) -> None:
    # Given a tenant holding English documents only (all-MiniLM-L6-v2)
    tenant = await make_tenant(session)
    for filename in ("boiler.txt", "bees.txt"):
        language, text = DOCUMENTS[filename]
        await add_document(
            session, models.default, tenant, filename, [text],
            options=ChunkingOptions(16, 2), language=language,
        )  # fmt: skip
    # When a Portuguese question is asked by meaning
    query = "com que frequência limpar o calcário da caldeira"
    hits = await search(
        session, tenant_id=tenant, query_vector=None, query_vectors=_vectors(models, query),
        query_text=query, mode=SearchMode.SEMANTIC,
    )  # fmt: skip
    # Then the English model's list answers, not nothing
    assert {h.filename for h in hits} == {"boiler.txt", "bees.txt"}


async def _needed(session: AsyncSession, tenant: uuid.UUID, query: str) -> tuple[str, ...]:
    """The models the API embeds ``query`` by in ``tenant``."""
    order = preferred(models_of(BY_LANGUAGE), detect_query_language(query))
    return (await prepare(session, tenant, SearchOptions(), order)).models


async def test_the_query_is_embedded_only_by_the_model_the_tenant_needs(
    session: AsyncSession, models: Models
) -> None:
    english, portuguese = list(QUERIES)[:2]
    # a tenant holding no chunk: the query language's model, nothing more
    empty = await make_tenant(session)
    assert await _needed(session, empty, english) == (DEFAULT_MODEL,)
    assert await _needed(session, empty, portuguese) == (E5,)
    # a tenant holding both models' chunks: each query by its language's model alone
    both = await make_tenant(session)
    await _index(session, models, both)
    assert await _needed(session, both, english) == (DEFAULT_MODEL,)
    assert await _needed(session, both, portuguese) == (E5,)
    # one vector is enough: the same hits as with both
    for mode in (SearchMode.SEMANTIC, SearchMode.HYBRID):
        (model,) = await _needed(session, both, portuguese)
        one = await search(
            session, tenant_id=both, query_vector=None, query_text=portuguese, mode=mode,
            query_vectors={model: _vectors(models, portuguese)[model]},
        )  # fmt: skip
        each = await search(
            session, tenant_id=both, query_vector=None, query_text=portuguese, mode=mode,
            query_vectors=_vectors(models, portuguese),
        )  # fmt: skip
        assert [h.chunk_id for h in one] == [h.chunk_id for h in each]
    # a tenant holding English chunks only: a Portuguese query by the English model alone
    only_english = await make_tenant(session)
    language, text = DOCUMENTS["boiler.txt"]
    await add_document(
        session, models.default, only_english, "boiler.txt", [text],
        options=ChunkingOptions(16, 2), language=language,
    )  # fmt: skip
    assert await _needed(session, only_english, portuguese) == (DEFAULT_MODEL,)
    # past the exact-search bound the models held are still known exactly: one model
    crowded = await prepare(
        session, only_english, SearchOptions(exact_max_chunks=0),
        preferred(models_of(BY_LANGUAGE), "pt"),
    )  # fmt: skip
    assert (crowded.exact, crowded.models) == (False, (DEFAULT_MODEL,))


async def test_a_tenant_switching_models_is_asked_by_the_model_its_chunks_still_use(
    session: AsyncSession, models: Models
) -> None:
    english, portuguese = list(QUERIES)[:2]
    # Given a tenant whose chunks were all embedded by all-MiniLM-L6-v2
    tenant = await make_tenant(session)
    for filename, (language, text) in DOCUMENTS.items():
        await add_document(
            session, models.default, tenant, filename, [text],
            options=ChunkingOptions(16, 2), language=language,
        )  # fmt: skip
    # When a Portuguese document is added by the new deployment (by e5) before
    # the others are re-embedded
    await add_document(
        session, models.by_language["pt"], tenant, "novo.txt",
        ["O locador devolve a caução no fim do contrato."],
        options=ChunkingOptions(16, 2), language="pt",
    )  # fmt: skip
    # Then Portuguese queries are still embedded by the model the others use,
    # whatever the tenant's size, and English ones by their own
    for bound in (5_000, 0):
        for query, model in ((portuguese, DEFAULT_MODEL), (english, DEFAULT_MODEL)):
            order = preferred(models_of(BY_LANGUAGE), detect_query_language(query))
            prepared = await prepare(session, tenant, SearchOptions(exact_max_chunks=bound), order)
            assert prepared.models == (model,), (query, bound)


async def test_reembedding_moves_each_chunk_to_its_languages_model(
    engine: AsyncEngine, embedder: Embedder, models: Models
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session, session.begin():
        tenant = await make_tenant(session)
        await _index(session, embedder, tenant)  # every chunk by all-MiniLM-L6-v2
    async with sessions() as session:
        # the Portuguese documents are stale under by-language
        assert await stale_documents(session, model_version=models, tenant_id=tenant) == 2

    summary = await reembed(sessions, models, tenant_id=tenant)

    assert (summary.documents, summary.remaining) == (2, 0)
    async with sessions() as session:
        rows = (
            await session.execute(
                sa.select(Chunk.language, Chunk.model_version).where(Chunk.tenant_id == tenant)
            )
        ).all()
    assert {r.model_version for r in rows if r.language == "pt"} == {
        models.by_language["pt"].model_version
    }
    assert {r.model_version for r in rows if r.language == "en"} == {embedder.model_version}
    again = await reembed(sessions, models, tenant_id=tenant)
    assert (again.documents, again.remaining) == (0, 0)


async def test_a_query_of_keywords_takes_the_language_its_words_match(
    session: AsyncSession, models: Models
) -> None:
    # Given a tenant holding documents of both languages
    tenant = await make_tenant(session)
    await _index(session, models, tenant)
    order = preferred(models_of(BY_LANGUAGE), None)
    cases = {  # keywords with no function word and no accent: of unknown language
        "inquilino aluguel locador": ("pt", E5, "aluguel.txt"),
        "descale boiler gauge": ("en", DEFAULT_MODEL, "boiler.txt"),
        "zzyzx qwfp": (None, DEFAULT_MODEL, None),  # no word matches: unknown, as before
    }
    for query, (language, model, expected) in cases.items():
        assert detect_query_language(query) is None
        # When the search is prepared
        words = parse_keywords(query).words
        prepared = await prepare(session, tenant, SearchOptions(), order, words, by_words=True)
        # Then the language whose chunks hold its words picks the model
        assert (prepared.language, prepared.models) == (language, (model,)), query
        if expected is None:
            continue
        # and the query is compared with that language's chunks only
        hits = await search(
            session, tenant_id=tenant, query_vector=None, query_vectors=_vectors(models, query),
            query_text=query, mode=SearchMode.SEMANTIC, group=SearchGroup.CHUNK, k=50,
        )  # fmt: skip
        assert hits[0].filename == expected
        assert {h.language for h in hits} == {language}
    # a tenant of Portuguese only: its language, its model
    portuguese = await make_tenant(session)
    await add_document(
        session, models.by_language["pt"], portuguese, "aluguel.txt",
        [DOCUMENTS["aluguel.txt"][1]], options=ChunkingOptions(16, 2), language="pt",
    )  # fmt: skip
    words = parse_keywords("zzyzx qwfp").words
    prepared = await prepare(session, portuguese, SearchOptions(), order, words, by_words=True)
    assert (prepared.language, prepared.models) == ("pt", (E5,))
    # unless the option is off: the default model's chunks, as before
    query = "inquilino aluguel locador"
    hits = await search(
        session, tenant_id=tenant, query_vector=None, query_vectors=_vectors(models, query),
        query_text=query, mode=SearchMode.SEMANTIC, group=SearchGroup.CHUNK, k=50,
        options=SearchOptions(language_by_words=False),
    )  # fmt: skip
    assert {h.language for h in hits} == {"en"}


async def test_a_querys_words_are_counted_in_its_tenants_languages_only(
    session: AsyncSession, models: Models
) -> None:
    # Given a tenant of Portuguese documents only and one of both languages
    portuguese = await make_tenant(session)
    await add_document(
        session, models.by_language["pt"], portuguese, "aluguel.txt",
        [DOCUMENTS["aluguel.txt"][1]], options=ChunkingOptions(16, 2), language="pt",
    )  # fmt: skip
    both = await make_tenant(session)
    await _index(session, models, both)
    words = parse_keywords("quando vencem os aluguéis dos meses").words
    parsed = {
        config: set(
            await session.scalar(
                sa.text("SELECT tsvector_to_array(to_tsvector(CAST(:c AS regconfig), :w))"),
                {"c": config, "w": words},
            )
        )
        for config in ("english", "portuguese", "simple")
    }
    assert (parsed["english"] | parsed["simple"]) - parsed["portuguese"]
    order = preferred(models_of(BY_LANGUAGE), "pt")
    # When each search is prepared
    alone = await prepare(session, portuguese, SearchOptions(), order, words)
    mixed = await prepare(session, both, SearchOptions(), order, words)
    # Then keyword ranking counts the lexemes of the tenant's languages only
    # (a Portuguese chunk never holds an English stem but by chance)
    assert set(alone.lexemes) == parsed["portuguese"]
    assert set(mixed.lexemes) == parsed["portuguese"] | parsed["english"]
