"""A tenant's vocabulary (``folio_worker_docs.vocabulary``) and the words
keyword search adds from it (``folio_api.domain.search.vocabulary``), with
PostgreSQL and the real models: a keyword query that shares no word with
its document finds it once the tenant's words are collected, and not
before; collecting again changes nothing; a tenant never gets another's
words; a document processed again is collected again."""

from __future__ import annotations

import itertools
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest
import sqlalchemy as sa
from pipeline_helpers import add_document, make_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.repository import SearchGroup, SearchMode, search
from folio_api.domain.search.vocabulary import (
    Embed,
    added_words,
    nearest_words,
    vocabulary_models,
)
from folio_shared.db.models import VocabularySource, VocabularyWord
from folio_shared.embedding_models import DEFAULT_MODEL, LANGUAGE_MODELS
from folio_shared.vocabulary import words_of
from folio_worker_docs.chunks_store import replace_document_chunks
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import Models, load_embedder
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages
from folio_worker_docs.text.types import ExtractedPage
from folio_worker_docs.vocabulary import collect_batch, count_pending

pytestmark = pytest.mark.integration

E5 = LANGUAGE_MODELS["pt"]
DOCUMENTS = {  # language -> filename -> text
    "en": {
        "vet.txt": "Veterinary clinic: neutering of the cat, anesthesia and follow-up visit.",
        "coffee.txt": "Fill the water tank to the mark before switching on the coffee maker.",
        "bees.txt": "Honey bees dance to tell the hive where the flowers are.",
    },
    "pt": {
        "vet.txt": "Clínica veterinária: castração do gato, anestesia e retorno.",
        "cafe.txt": "Encha o reservatório de água até a marca antes de ligar a cafeteira.",
        "aluguel.txt": "O inquilino paga o aluguel até o quinto dia útil de cada mês.",
    },
}
#: Questions sharing no word with the vet's documents.
QUERIES = {"en": "kitten surgery", "pt": "cirurgia do bichano"}


@pytest.fixture(scope="module")
def models(embedder: Embedder) -> Models:
    return Models(embedder, {"pt": load_embedder(E5)})


async def _tenant(session: AsyncSession, models: Models, language: str) -> uuid.UUID:
    tenant = await make_tenant(session)
    for filename, text in DOCUMENTS[language].items():
        await add_document(
            session, models.of(language), tenant, filename, [text], language=language
        )
    return tenant


async def _keyword_search(
    session: AsyncSession, models: Models, tenant: uuid.UUID, query: str, language: str
) -> list[str]:
    """Filenames keyword search ranks for ``query``, with the words the
    API adds (none while the tenant has no vocabulary)."""
    own = DEFAULT_MODEL if language == "en" else E5
    added: list[str] = []
    for model in await vocabulary_models(session, tenant, [own]):
        vector = models.of(language).encode_query(query)
        added = await nearest_words(session, tenant, model, query, vector)
    hits = await search(
        session, tenant_id=tenant, query_vector=None, query_text=query,
        mode=SearchMode.KEYWORD, group=SearchGroup.DOCUMENT, expansions=added,
    )  # fmt: skip
    return [hit.filename for hit in hits]


@pytest.mark.parametrize("language", ["en", "pt"])
async def test_a_keyword_query_finds_its_document_once_the_words_are_collected(
    session: AsyncSession, models: Models, language: str
) -> None:
    tenant = await _tenant(session, models, language)
    query = QUERIES[language]
    # Given no vocabulary yet: the query's words alone, held by no document
    assert await _keyword_search(session, models, tenant, query, language) == []

    # When the tenant's words are collected
    documents, words = await collect_batch(session, models, tenant_id=tenant)
    assert documents == 3
    assert words >= 15

    # Then the query finds the vet's document first, by the words nearest it
    ranking = await _keyword_search(session, models, tenant, query, language)
    assert ranking[0] == "vet.txt"


async def test_a_query_of_exclusions_only_gets_no_words(
    session: AsyncSession, models: Models
) -> None:
    tenant = await _tenant(session, models, "pt")
    await collect_batch(session, models, tenant_id=tenant)
    embedded: list[str] = []

    def embed_for(query: str) -> Embed:
        async def embed(names: Sequence[str | None]) -> list[list[float]]:
            embedded.append(query)
            return [models.of("pt").encode_query(query) for _ in names]

        return embed

    # a wanted word gets the tenant's words nearest it
    assert await added_words(session, tenant, "bichano", E5, embed_for("bichano"))
    # while "everything without gato" asks for no word: none is added (the
    # words nearest "gato" would find the documents about cats that lack it)
    for query in ("-gato", '-"castração do gato"'):
        assert await added_words(session, tenant, query, E5, embed_for(query)) == []
    assert embedded == ["bichano"]


async def test_collecting_again_changes_nothing(session: AsyncSession, models: Models) -> None:
    tenant = await _tenant(session, models, "pt")
    first = await collect_batch(session, models, tenant_id=tenant)

    async def vocabulary() -> list[tuple[str, str]]:
        rows = await session.execute(
            sa.select(VocabularyWord.model_version, VocabularyWord.word)
            .where(VocabularyWord.tenant_id == tenant)
            .order_by(VocabularyWord.word)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]

    held = await vocabulary()
    assert len(held) == first[1]
    assert {version for version, _ in held} == {models.of("pt").model_version}
    # a second run finds nothing pending
    assert await collect_batch(session, models, tenant_id=tenant) == (0, 0)
    assert await count_pending(session, models, tenant_id=tenant) == 0
    # a run interrupted after its words were stored, before its documents
    # were marked, marks them and adds no word twice
    await session.execute(sa.delete(VocabularySource).where(VocabularySource.tenant_id == tenant))
    assert await collect_batch(session, models, tenant_id=tenant) == (3, 0)
    assert await vocabulary() == held


async def test_a_tenant_never_gets_another_tenant_s_words(
    session: AsyncSession, models: Models
) -> None:
    vet = await _tenant(session, models, "en")
    other = await make_tenant(session)
    await add_document(
        session, models.default, other, "coffee.txt", [DOCUMENTS["en"]["coffee.txt"]],
        language="en",
    )  # fmt: skip
    for tenant in (vet, other):
        await collect_batch(session, models, tenant_id=tenant)
    held = set(
        await session.scalars(
            sa.select(VocabularyWord.word).where(VocabularyWord.tenant_id == other)
        )
    )
    vector = models.default.encode_query(QUERIES["en"])
    # every word of the other tenant's vocabulary, nearest first: none of the vet's
    found = await nearest_words(session, other, DEFAULT_MODEL, QUERIES["en"], vector, k=1000)
    assert set(found) == held
    assert "cat" not in found
    assert "cat" in await nearest_words(session, vet, DEFAULT_MODEL, QUERIES["en"], vector)
    # and a tenant with no vocabulary has none to add
    assert await vocabulary_models(session, await make_tenant(session), [DEFAULT_MODEL]) == []


@dataclass
class _Zeros:
    """Embeds every word as a zero vector, at once: what is tested is the
    statements around the model, not the model."""

    model_version: str
    token_spans: object

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.zeros((len(texts), 384), dtype=np.float32)


async def test_a_document_with_more_words_than_a_statement_has_parameters(
    session: AsyncSession, embedder: Embedder
) -> None:
    # Given a document holding 40,000 distinct words (a statement may carry
    # at most 32,767 parameters)
    letters = string.ascii_lowercase
    text = " ".join(
        "".join(w) for w in itertools.islice(itertools.product(letters, repeat=4), 40_000)
    )
    tenant = await make_tenant(session)
    document = await make_document(session, tenant, "words.txt", "text")
    chunks = chunk_pages([ExtractedPage(1, text)], embedder.token_spans, ChunkingOptions(4000, 0))
    expected = set().union(*(words_of(chunk.text, "en") for chunk in chunks))
    assert len(expected) > 32_767
    await replace_document_chunks(
        session, tenant_id=tenant, document_id=document, chunks=chunks,
        vectors=np.zeros((len(chunks), 384), dtype=np.float32),
        model_version=embedder.model_version, pipeline_version="test", language="en",
    )  # fmt: skip
    zeros = _Zeros(embedder.model_version, embedder.token_spans)
    # When its words are collected, then every one joins the vocabulary
    assert await collect_batch(session, Models(zeros), tenant_id=tenant) == (1, len(expected))  # type: ignore[arg-type]
    held = await session.scalar(
        sa.select(sa.func.count()).where(VocabularyWord.tenant_id == tenant)
    )
    assert held == len(expected)


async def test_a_document_processed_again_is_collected_again(
    session: AsyncSession, models: Models
) -> None:
    tenant = await make_tenant(session)
    embedder = models.default
    document = await add_document(
        session, embedder, tenant, "a.txt", ["The boiler gauge reads one bar."], language="en"
    )
    await collect_batch(session, models, tenant_id=tenant)
    # When its chunks are replaced by a new processing (another text)
    from folio_worker_docs.chunks_store import replace_document_chunks
    from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages
    from folio_worker_docs.text.types import ExtractedPage

    chunks = chunk_pages(
        [ExtractedPage(1, "Descale the kettle monthly.")], embedder.token_spans,
        ChunkingOptions(48, 8),
    )  # fmt: skip
    await replace_document_chunks(
        session, tenant_id=tenant, document_id=document, chunks=chunks,
        vectors=embedder.encode([c.text for c in chunks]), model_version=embedder.model_version,
        pipeline_version="test", language="en",
    )  # fmt: skip
    # Then it is pending again, and its new words join the vocabulary
    assert await count_pending(session, models, tenant_id=tenant) == 1
    assert await collect_batch(session, models, tenant_id=tenant) == (1, 3)
    words = set(
        await session.scalars(
            sa.select(VocabularyWord.word).where(VocabularyWord.tenant_id == tenant)
        )
    )
    assert {"descale", "kettle", "monthly", "boiler", "gauge"} <= words
