"""A tenant's vocabulary loses the words no remaining document holds
(``folio_worker_docs.vocabulary_sweep``), with PostgreSQL and the real
models: a deleted document's words stop being query expansions, words
another document holds stay, and the vocabulary of a model the deployment
no longer embeds with empties once its documents' words are collected for
the new one. Each test commits (the sweep runs in transactions of its
own) in tenants of its own."""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from pipeline_helpers import add_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from folio_api.domain.search.vocabulary import nearest_words
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import Chunk, Document, VocabularySource, VocabularyWord
from folio_shared.embedding_models import DEFAULT_MODEL, LANGUAGE_MODELS
from folio_shared.vocabulary import words_of
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import Models, load_embedder
from folio_worker_docs.vocabulary import collect, collect_batch
from folio_worker_docs.vocabulary_sweep import sweep

pytestmark = pytest.mark.integration

E5 = LANGUAGE_MODELS["pt"]
VET = "Veterinary clinic: neutering of the cat, anesthesia and follow-up visit."
COFFEE = "Fill the water tank of the coffee maker; the cat sleeps beside it."


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


async def _words(
    sessions: async_sessionmaker[AsyncSession], tenant: uuid.UUID, version: str
) -> set[str]:
    async with sessions() as session:
        found = await session.scalars(
            sa.select(VocabularyWord.word).where(
                VocabularyWord.tenant_id == tenant, VocabularyWord.model_version == version
            )
        )
        return set(found)


async def test_a_deleted_document_s_words_leave_the_vocabulary(
    sessions: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    models = Models(embedder)
    version = embedder.model_version
    async with sessions() as session:
        tenant = await make_tenant(session)
        vet = await add_document(session, embedder, tenant, "vet.txt", [VET], language="en")
        await add_document(session, embedder, tenant, "coffee.txt", [COFFEE], language="en")
        await session.commit()
    await collect(sessions, models, tenant_id=tenant)
    before = await _words(sessions, tenant, version)
    assert {"veterinary", "neutering", "cat", "coffee"} <= before

    # When the vet's document is deleted, and the maintenance round runs
    async with sessions() as session:
        await session.execute(sa.delete(Document).where(Document.id == vet))
        await session.commit()
    summary = await collect(sessions, models, tenant_id=tenant)

    # Then the words only it held are gone; "cat", which the coffee maker's
    # page holds too, and that page's words stay
    after = await _words(sessions, tenant, version)
    only_vet = {"veterinary", "clinic", "neutering", "anesthesia", "follow", "visit"}
    assert after == before - only_vet
    assert summary.swept == len(only_vet)
    # and keyword search adds none of them any more
    vector = embedder.encode_query("kitten surgery")
    added = await _nearest(sessions, tenant, vector)
    assert not set(added) & only_vet
    # a second round finds nothing to sweep
    assert (await collect(sessions, models, tenant_id=tenant)).swept == 0
    async with sessions() as session:
        left = await session.scalar(
            sa.select(sa.func.count()).where(VocabularySource.tenant_id == tenant)
        )
    assert left == 1


async def _nearest(
    sessions: async_sessionmaker[AsyncSession], tenant: uuid.UUID, vector: np.ndarray
) -> list[str]:
    async with sessions() as session:
        return await nearest_words(
            session, tenant, DEFAULT_MODEL, "kitten surgery", list(vector), k=1000
        )


async def test_an_old_model_s_words_go_once_the_new_model_s_are_collected(
    sessions: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    # Given a tenant's vocabulary by all-MiniLM-L6-v2
    e5 = load_embedder(E5)
    async with sessions() as session:
        tenant = await make_tenant(session)
        await add_document(session, embedder, tenant, "vet.txt", [VET], language="en")
        await add_document(session, embedder, tenant, "coffee.txt", [COFFEE], language="en")
        await session.commit()
    await collect(sessions, Models(embedder), tenant_id=tenant)
    old = await _words(sessions, tenant, embedder.model_version)
    assert old

    # When the deployment switches to e5 and one document's chunks move to it
    # (as re-embedding does), then a round collects its words for e5 and
    # keeps the old words the other document, still on the old model, holds
    async with sessions() as session:
        documents = list(
            await session.scalars(
                sa.select(Document.id)
                .where(Document.tenant_id == tenant)
                .order_by(Document.filename)
            )
        )
        coffee, vet = documents
        await _move(session, vet, e5.model_version)
        await session.commit()
    await collect(sessions, Models(e5), tenant_id=tenant)
    assert await _words(sessions, tenant, e5.model_version) >= {"veterinary", "neutering", "cat"}
    still = await _words(sessions, tenant, embedder.model_version)
    assert "coffee" in still
    assert "veterinary" not in still

    # and once every document is on e5, the old model's vocabulary is empty
    async with sessions() as session:
        await _move(session, coffee, e5.model_version)
        await session.commit()
    await collect(sessions, Models(e5), tenant_id=tenant)
    assert await _words(sessions, tenant, embedder.model_version) == set()
    assert "coffee" in await _words(sessions, tenant, e5.model_version)


async def _move(session: AsyncSession, document: uuid.UUID, version: str) -> None:
    """The document's chunks now on ``version`` (re-embedding moves them in place)."""
    await session.execute(
        sa.update(Chunk).where(Chunk.document_id == document).values(model_version=version)
    )


async def test_a_word_swept_while_a_batch_embeds_is_embedded_again(
    sessions: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    # Given a document holding "kettle", collected, then deleted
    async with sessions() as session:
        tenant = await make_tenant(session)
        old = await add_document(
            session, embedder, tenant, "a.txt", ["Descale the kettle."], language="en"
        )
        await session.commit()
    await collect(sessions, Models(embedder), tenant_id=tenant)
    async with sessions() as session:
        await session.execute(sa.delete(Document).where(Document.id == old))
        await add_document(
            session, embedder, tenant, "b.txt", ["The kettle whistles loudly."], language="en"
        )
        await session.commit()
    loop = asyncio.get_running_loop()

    class Sweeping:
        """Sweeps the tenant while the batch embeds its new words: the
        batch found "kettle" held, and the sweep removes it meanwhile."""

        model_version = embedder.model_version

        def encode_queries(self, words: list[str]) -> np.ndarray:
            asyncio.run_coroutine_threadsafe(sweep(sessions, tenant_id=tenant), loop).result()
            return embedder.encode_queries(words)

    # When a batch collects the new document with the sweep in between
    first = await collect_batch(sessions, Models(Sweeping()), tenant_id=tenant)  # type: ignore[arg-type]
    # Then it leaves the document pending, and the next batch embeds "kettle"
    assert first[0] == 0
    assert "kettle" not in await _words(sessions, tenant, embedder.model_version)
    assert await collect_batch(sessions, Models(embedder), tenant_id=tenant) == (1, 1)
    assert "kettle" in await _words(sessions, tenant, embedder.model_version)


GARDEN = "Invoice for the garden hose, the lawn mower and the hedge trimmer."


async def test_a_bounded_round_sweeps_no_word_of_a_document_left_pending(
    sessions: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    # Given three documents whose words are in the vocabulary, collected
    # before migration 0023 (whose upgrade deletes their source rows, so
    # they are pending again)
    models = Models(embedder)
    version = embedder.model_version
    texts = {"vet.txt": VET, "coffee.txt": COFFEE, "garden.txt": GARDEN}
    async with sessions() as session:
        tenant = await make_tenant(session)
        ids = {
            await add_document(session, embedder, tenant, name, [text], language="en"): text
            for name, text in texts.items()
        }
        await session.commit()
    await collect(sessions, models, tenant_id=tenant)
    async with sessions() as session:
        await session.execute(
            sa.delete(VocabularySource).where(VocabularySource.tenant_id == tenant)
        )
        await session.commit()
    before = await _words(sessions, tenant, version)
    # and one of them collected again, then deleted (a gone source)
    await collect(sessions, models, tenant_id=tenant, max_documents=1)
    async with sessions() as session:
        gone = await session.scalar(
            sa.select(Chunk.document_id)
            .join(VocabularySource, VocabularySource.chunk_id == Chunk.id)
            .where(VocabularySource.tenant_id == tenant)
        )
        await session.execute(sa.delete(Document).where(Document.id == gone))
        await session.commit()
    left = {words for d, text in ids.items() if d != gone for words in words_of(text, "en")}

    # When a round stops before the other two are collected again
    summary = await collect(sessions, models, tenant_id=tenant, max_documents=1)

    # Then the words of the one still pending stay in the vocabulary
    assert summary.remaining == 1
    assert left <= await _words(sessions, tenant, version)
    assert summary.swept == 0
    # and a round that collects everything sweeps the deleted one's words
    summary = await collect(sessions, models, tenant_id=tenant)
    assert summary.remaining == 0
    assert await _words(sessions, tenant, version) == left
    assert summary.swept == len(before - left) > 0
