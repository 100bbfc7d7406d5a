"""Search: tenant scope, filters, modes, snippets, page ranges."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pipeline_helpers import add_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.repository import SearchFilters, SearchMode, SearchOptions, search
from folio_shared.db.models import Document
from folio_shared.errors import InvalidInput
from folio_worker_docs.embeddings.model import Embedder

pytestmark = pytest.mark.integration


async def _search(
    session: AsyncSession, embedder: Embedder, tenant_id: uuid.UUID, q: str, **kwargs: object
) -> list:  # type: ignore[type-arg]
    return await search(
        session,
        tenant_id=tenant_id,
        query_vector=embedder.encode_query(q),
        query_text=q,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_hits_carry_document_pages_snippet_and_score(
    session: AsyncSession, embedder: Embedder
) -> None:
    tenant = await make_tenant(session)
    filler = " ".join(f"Filler sentence {i} about nothing in particular." for i in range(30))
    doc = await add_document(
        session, embedder, tenant, "manual.txt",
        [filler, "The <b>pressure</b> valve must be checked & cleaned monthly."],
    )  # fmt: skip
    hits = await _search(session, embedder, tenant, "pressure valve", k=3)
    top = hits[0]
    assert top.document_id == doc
    assert top.filename == "manual.txt"
    assert top.page_end == 2
    assert "<mark>pressure</mark>" in top.snippet
    assert "<mark>valve</mark>" in top.snippet
    assert "<b>" not in top.snippet  # the document's own markup never reaches the snippet
    assert "&amp;" in top.snippet  # and the rest is escaped
    assert top.score > 0
    assert top.semantic_rank == 1
    assert top.keyword_rank == 1
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_another_tenants_chunks_never_show_up(
    session: AsyncSession, embedder: Embedder
) -> None:
    mine, theirs = await make_tenant(session), await make_tenant(session)
    await add_document(
        session, embedder, theirs, "secret.txt", ["Quarterly revenue of the lighthouse."]
    )
    for mode in SearchMode:
        assert await _search(session, embedder, mine, "lighthouse revenue", mode=mode) == []


async def test_filters(session: AsyncSession, embedder: Embedder) -> None:
    tenant = await make_tenant(session)
    a = await add_document(
        session, embedder, tenant, "a.html", ["Owls hunt mice at night."], "html"
    )
    b = await add_document(session, embedder, tenant, "b.txt", ["Owls sleep during the day."])
    q = "owls"
    ids = {h.document_id for h in await _search(session, embedder, tenant, q)}
    assert ids == {a, b}
    only_b = SearchFilters(document_ids=[b])
    assert {h.document_id for h in await _search(session, embedder, tenant, q, filters=only_b)} == {
        b
    }
    html_only = SearchFilters(kinds=["html"])
    assert {
        h.document_id for h in await _search(session, embedder, tenant, q, filters=html_only)
    } == {a}
    await session.execute(
        sa.update(Document)
        .where(Document.id == a)
        .values(created_at=datetime.now(UTC) - timedelta(days=10))
    )
    recent = SearchFilters(created_from=datetime.now(UTC) - timedelta(days=1))
    assert {h.document_id for h in await _search(session, embedder, tenant, q, filters=recent)} == {
        b
    }
    old = SearchFilters(created_to=datetime.now(UTC) - timedelta(days=1))
    assert {h.document_id for h in await _search(session, embedder, tenant, q, filters=old)} == {a}


async def test_modes(session: AsyncSession, embedder: Embedder) -> None:
    tenant = await make_tenant(session)
    cat = await add_document(session, embedder, tenant, "cat.txt", ["Felines purr when content."])
    await add_document(
        session, embedder, tenant, "zx.txt", ["Part number ZX-4471 ships on Monday."]
    )
    semantic = await _search(session, embedder, tenant, "kitty happiness", mode="semantic")
    assert semantic[0].document_id == cat
    assert semantic[0].keyword_rank is None
    assert 0 < semantic[0].score <= 1
    keyword = await _search(session, embedder, tenant, "kitty happiness", mode="keyword")
    assert keyword == []  # no shared word
    exact = await _search(session, embedder, tenant, "ZX-4471", mode="keyword")
    assert exact[0].filename == "zx.txt"
    assert exact[0].semantic_rank is None
    keyword_only = await search(
        session, tenant_id=tenant, query_vector=None, query_text="felines", mode="keyword"
    )
    assert keyword_only[0].document_id == cat


async def test_deleted_documents_are_not_found(session: AsyncSession, embedder: Embedder) -> None:
    tenant = await make_tenant(session)
    doc = await add_document(session, embedder, tenant, "gone.txt", ["Penguins huddle for warmth."])
    await session.execute(sa.update(Document).where(Document.id == doc).values(status="deleted"))
    assert await _search(session, embedder, tenant, "penguins") == []


async def test_bad_arguments(session: AsyncSession) -> None:
    tenant = uuid.uuid4()
    with pytest.raises(InvalidInput, match="mode"):
        await search(session, tenant_id=tenant, query_vector=None, query_text="x", mode="fuzzy")
    with pytest.raises(InvalidInput, match="vector"):
        await search(session, tenant_id=tenant, query_vector=[0.1], query_text="x")
    with pytest.raises(InvalidInput, match="k must"):
        await search(session, tenant_id=tenant, query_vector=None, query_text="x", k=0,
                     mode="keyword")  # fmt: skip


async def _harbour_notes(
    session: AsyncSession, embedder: Embedder, notes: int, last: str
) -> tuple[uuid.UUID, uuid.UUID]:
    """A tenant of ``notes`` one-chunk documents holding "harbour", then
    one of ``last``: the tenant and that last document."""
    tenant = await make_tenant(session)
    for i in range(notes):
        await add_document(session, embedder, tenant, f"h{i}.txt", [f"Note {i} about the harbour."])
    return tenant, await add_document(session, embedder, tenant, "last.txt", [last])


async def test_keyword_ranks_at_most_max_matches_of_a_very_common_word(
    session: AsyncSession, embedder: Embedder
) -> None:
    # 30 one-chunk documents share "harbour"; the last one says it most
    tenant, best = await _harbour_notes(
        session, embedder, 29, "Harbour harbour harbour: the harbour at dawn."
    )
    ranked_all = await search(
        session,
        tenant_id=tenant,
        query_vector=None,
        query_text="harbour",
        mode="keyword",
        k=5,
        options=SearchOptions(candidates=5),
    )
    assert ranked_all[0].document_id == best
    assert len(ranked_all) == 5
    capped = await search(
        session,
        tenant_id=tenant,
        query_vector=None,
        query_text="harbour",
        mode="keyword",
        k=5,
        options=SearchOptions(candidates=5, keyword_max_matches=5),
    )
    # still k answers, all matching: the 5 ts_rank ranks highest, scored
    assert len(capped) == 5
    assert all("harbour" in h.snippet.lower() for h in capped)
    assert {h.keyword_rank for h in capped} == {1, 2, 3, 4, 5}
    assert capped[0].document_id == best
    hybrid = await search(
        session,
        tenant_id=tenant,
        query_vector=embedder.encode_query("harbour"),
        query_text="harbour",
        k=10,
        group="chunk",
        options=SearchOptions(candidates=5, keyword_max_matches=5),
    )
    # in hybrid, a word that common lets keyword ranking score the
    # semantic list's chunks that hold it, and no others
    assert [h.keyword_rank is not None for h in hybrid] == [
        h.semantic_rank is not None for h in hybrid
    ]
    assert len(hybrid) == 10  # k: the semantic list is as long


async def test_a_rare_word_is_found_whatever_was_written_first(
    session: AsyncSession, embedder: Embedder
) -> None:
    # Given 12 chunks holding a common word, written before the one chunk
    # that also holds a rare word
    tenant, rare = await _harbour_notes(session, embedder, 12, "The harbour lighthouse keeper.")
    # When keyword search scores at most 5 chunks per word
    hits = await search(
        session,
        tenant_id=tenant,
        query_vector=None,
        query_text="harbour lighthouse",
        mode="keyword",
        k=3,
        options=SearchOptions(keyword_max_matches=5),
    )
    # Then the chunk with the rare word is scored, and first
    assert hits[0].document_id == rare
    assert hits[0].keyword_rank == 1
    # and the statement was planned with its values, not a generic plan
    assert await session.scalar(sa.text("SHOW plan_cache_mode")) == "force_custom_plan"
