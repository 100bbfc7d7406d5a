"""Keyword search with words added to the query (``search(expansions=...)``):
a document that holds only an added word is found, and one that holds the
query's own word ranks above it (``SearchOptions.expansion_weight``,
``docs/adr/0007-search-ranking.md``)."""

from __future__ import annotations

import uuid

import pytest
from pipeline_helpers import add_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.repository import SearchGroup, SearchMode, SearchOptions, search
from folio_worker_docs.embeddings.model import Embedder

pytestmark = pytest.mark.integration


async def _ranking(
    session: AsyncSession,
    tenant: uuid.UUID,
    query: str,
    expansions: list[str],
    options: SearchOptions | None = None,
    group: SearchGroup = SearchGroup.DOCUMENT,
) -> list[uuid.UUID]:
    hits = await search(
        session, tenant_id=tenant, query_vector=None, query_text=query,
        mode=SearchMode.KEYWORD, group=group, options=options, expansions=expansions,
    )  # fmt: skip
    return [hit.document_id for hit in hits]


async def test_a_document_holding_only_an_added_word_is_found(
    session: AsyncSession, embedder: Embedder
) -> None:
    tenant = await make_tenant(session)
    vet = await add_document(
        session, embedder, tenant, "recibo.txt",
        ["Clínica veterinária: castração do gato, anestesia e retorno. Total R$ 480,00."],
        language="pt",
    )  # fmt: skip
    await add_document(
        session, embedder, tenant, "manual.txt",
        ["Encha o reservatório de água até a marca antes de ligar a cafeteira."],
        language="pt",
    )  # fmt: skip

    # "bichano" is in no document: the query alone finds nothing
    assert await _ranking(session, tenant, "bichano", []) == []
    assert await _ranking(session, tenant, "bichano", ["gato"]) == [vet]
    # an added phrase is matched as a phrase
    assert await _ranking(session, tenant, "bichano", ["castração do gato"]) == [vet]


async def test_the_query_s_own_word_outweighs_an_added_one(
    session: AsyncSession, embedder: Embedder
) -> None:
    tenant = await make_tenant(session)
    own = await add_document(
        session, embedder, tenant, "bicicleta.txt",
        ["A bicicleta precisa de óleo na corrente depois da chuva."], language="pt",
    )  # fmt: skip
    added = await add_document(
        session, embedder, tenant, "magrela.txt",
        ["A magrela precisa de óleo na corrente depois da chuva."], language="pt",
    )  # fmt: skip

    async def share(weight: float, group: SearchGroup) -> float:
        """The added word's document's score over the query word's."""
        hits = await search(
            session, tenant_id=tenant, query_vector=None, query_text="bicicleta",
            mode=SearchMode.KEYWORD, group=group, options=SearchOptions(expansion_weight=weight),
            expansions=["magrela"],
        )  # fmt: skip
        score = {hit.document_id: hit.score for hit in hits}
        return score[added] / score[own]

    for group in SearchGroup:
        ranking = await _ranking(session, tenant, "bicicleta", ["magrela"], group=group)
        assert ranking == [own, added]
        # the two chunks differ by one word: the weight is what sets them apart
        assert await share(0.5, group) == pytest.approx(0.5, rel=0.2)
        assert await share(1.0, group) == pytest.approx(1.0, rel=0.2)
