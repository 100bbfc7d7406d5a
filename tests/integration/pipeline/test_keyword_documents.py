"""Keyword ranking of whole documents: a long document that covers the
query's subject in several places is not outranked by a short one that
mentions it once (document-level BM25's ``document_k1`` / ``document_b``,
``docs/adr/0007-search-ranking.md``)."""

from __future__ import annotations

import pytest
from pipeline_helpers import add_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.repository import SearchMode, SearchOptions, search
from folio_worker_docs.embeddings.model import Embedder

pytestmark = pytest.mark.integration

_TOPICS = [
    "Unpack the machine and keep the box until the first week of use is over.",
    "Fill the water tank up to the line marked on its side before switching on.",
    "The grinder has twelve settings, from coarse for a press to fine for a small cup.",
    "Wipe the steam wand with a damp cloth after you froth milk, while it is warm.",
    "The drip tray holds half a litre and a float rises when it must be emptied.",
    "Press the left button once for a short cup and twice for a long one.",
    "The warranty covers the pump and the heater for two years from the purchase.",
    "Keep the beans in a closed jar, away from light, heat and moisture.",
    "Grounds are pressed into a puck that drops into the bin after each cup.",
]
_MENTIONS = [
    "Descaling removes the mineral crust that hard water leaves in the heater.",
    "Run the descaling programme every two months, or monthly with hard water.",
    "Rinse the tank twice after descaling so no taste of the solution remains.",
]


async def test_a_manual_covering_the_subject_outranks_a_receipt_mentioning_it(
    session: AsyncSession, embedder: Embedder
) -> None:
    tenant = await make_tenant(session)
    pages = (
        _TOPICS[:3] + _MENTIONS[:1] + _TOPICS[3:6] + _MENTIONS[1:2] + _TOPICS[6:] + _MENTIONS[2:]
    )
    manual = await add_document(session, embedder, tenant, "manual.txt", pages, language="en")
    receipt = await add_document(
        session, embedder, tenant, "receipt.txt", ["Descaling service: 40.00."], language="en"
    )

    async def ranking(options: SearchOptions) -> list[object]:
        hits = await search(
            session, tenant_id=tenant, query_vector=None, query_text="descaling",
            mode=SearchMode.KEYWORD, options=options,
        )  # fmt: skip
        return [hit.document_id for hit in hits]

    assert await ranking(SearchOptions()) == [manual, receipt]
    # the chunk's parameters applied to the whole document put the receipt first
    chunk_like = SearchOptions(document_k1=1.2, document_b=0.75)
    assert await ranking(chunk_like) == [receipt, manual]
