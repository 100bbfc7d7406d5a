"""The keyword list's vector-free part found before the search statement
(``keyword_terms``, what the API runs while the query is embedded) gives
the hits and scores the statement gives when it finds everything itself
(scores to the last bits of a float sum):
across groupings, filters, exclusions, phrases, added words and words too
common to select chunks; and the statement really reads it."""

from __future__ import annotations

import dataclasses
import math
import uuid

import pytest
from pipeline_helpers import add_document, make_tenant
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.keyword_terms import KeywordTerms
from folio_api.domain.search.keywords import parse_keywords
from folio_api.domain.search.preparing import begin_snapshot, prepare
from folio_api.domain.search.repository import (
    SearchFilters,
    SearchHit,
    SearchOptions,
    keyword_terms,
    search,
)
from folio_worker_docs.embeddings.model import Embedder

pytestmark = pytest.mark.integration

PAGES = {  # filename -> (kind, pages)
    "boiler.txt": (
        "text",
        [
            "Descale the boiler every three months. The pressure gauge must read 1.5 bar "
            "when the water is cold; below 1 bar, open the filling valve slowly.",
            "If the pressure relief valve drips, the expansion vessel has lost its charge. "
            "Recharge it with a bicycle pump to 1 bar with the boiler drained.",
        ],
    ),
    "garden.html": (
        "html",
        [
            "Water the tomatoes early in the morning. A drip line with a pressure "
            "regulator saves water; close the valve at the tap when the soil is damp.",
            "Mulch keeps the soil cool. Hose pressure that is too high washes the soil "
            "from the roots of young plants.",
        ],
    ),
    "cooker.txt": (
        "text",
        [
            "Never open a pressure cooker before the valve has dropped. Release the "
            "pressure under cold running water if dinner is late.",
            "The gasket of the cooker must be replaced once a year; a worn gasket lets "
            "steam escape around the lid and the valve never rises.",
        ],
    ),
    "bees.txt": (
        "text",
        [
            "Honey bees dance to tell the hive where the flowers are, and how far.",
        ],
    ),
}
QUERIES = [
    "pressure valve",
    "how do I release the pressure from the valve -cooker",
    '"pressure cooker" valve',
    "water the young plants",
    "the",
]
COMMON = SearchOptions(candidates=3, keyword_max_matches=3)  # most words too common to select


async def _tenant(session: AsyncSession, embedder: Embedder) -> dict[str, uuid.UUID]:
    tenant = await make_tenant(session)
    ids = {"tenant": tenant}
    for name, (kind, pages) in PAGES.items():
        ids[name] = await add_document(session, embedder, tenant, name, pages, kind)
    return ids


async def _both(
    session: AsyncSession,
    embedder: Embedder,
    tenant: uuid.UUID,
    q: str,
    expansions: tuple[str, ...] = (),
    terms: KeywordTerms | None = None,
    *,
    group: str = "document",
    options: SearchOptions | None = None,
    filters: SearchFilters | None = None,
    k: int = 10,
) -> tuple[list[SearchHit], list[SearchHit], KeywordTerms | None]:
    """The hits with the statement finding the keyword list itself, and
    with its vector-free part found first (or ``terms``)."""
    opts = options or SearchOptions()
    prepared = await prepare(session, tenant, opts, (), parse_keywords(q, expansions).words)
    if terms is None:
        terms = await keyword_terms(
            session, tenant_id=tenant, query_text=q, prepared=prepared, k=k, filters=filters,
            options=opts, expansions=expansions,
        )  # fmt: skip
    common = {
        "tenant_id": tenant, "query_vector": embedder.encode_query(q), "query_text": q, "k": k,
        "group": group, "filters": filters, "options": opts, "prepared": prepared,
        "expansions": expansions,
    }  # fmt: skip
    hits = [await search(session, keyword_terms=given, **common) for given in (None, terms)]  # type: ignore[arg-type]
    return hits[0], hits[1], terms


def _assert_same(hits: list[SearchHit], expected: list[SearchHit], note: object = None) -> None:
    """The same hits, in the same order, with the same ranks, texts and
    snippets; scores equal but for the last bits of a float sum taken
    in another order."""

    def bare(hit: SearchHit) -> SearchHit:
        return dataclasses.replace(hit, score=0.0, document_score=0.0)

    assert [bare(h) for h in hits] == [bare(h) for h in expected], note
    for hit, other in zip(hits, expected, strict=True):
        assert math.isclose(hit.score, other.score, rel_tol=1e-12, abs_tol=1e-15), note
        assert math.isclose(hit.document_score, other.document_score, rel_tol=1e-12), note


@pytest.mark.parametrize("group", ["document", "chunk"])
@pytest.mark.parametrize("options", [SearchOptions(), COMMON], ids=["default", "common"])
async def test_the_terms_found_first_give_the_same_hits(
    session: AsyncSession, embedder: Embedder, group: str, options: SearchOptions
) -> None:
    await begin_snapshot(session)
    ids = await _tenant(session, embedder)
    filters = [
        SearchFilters(),
        SearchFilters(kinds=["html"]),
        SearchFilters(document_ids=[ids["boiler.txt"], ids["cooker.txt"]]),
    ]
    selected, common = 0, 0
    for q in QUERIES:
        for filt in filters:
            plain, early, terms = await _both(
                session, embedder, ids["tenant"], q, group=group, options=options,
                filters=filt, k=3,
            )  # fmt: skip
            _assert_same(early, plain, (q, filt))
            if terms is not None:
                selected += bool(terms.terms["id"])
                common += any(c > 3 for c in terms.held_chunks)
    # added words, weighed less than the query's own
    plain, early, _ = await _both(
        session, embedder, ids["tenant"], "pressure valve", ("gasket", "steam escape"),
        group=group, options=options,
    )  # fmt: skip
    _assert_same(early, plain)
    assert plain
    # both kinds of word were there: some selected chunks, some too common
    assert selected > 0
    assert common > 0 or options is not COMMON


async def test_the_statement_reads_the_terms_it_is_given(
    session: AsyncSession, embedder: Embedder
) -> None:
    ids = await _tenant(session, embedder)
    tenant, q = ids["tenant"], "descale the boiler gauge"
    options = SearchOptions(candidates=1)  # the chunks the words select are not all semantic
    plain, early, terms = await _both(session, embedder, tenant, q, options=options)
    assert terms is not None
    assert terms.terms["id"]
    _assert_same(early, plain)
    # terms with their rows taken away: the selected chunks lose their keyword scores
    emptied = dataclasses.replace(terms, terms={name: [] for name in terms.terms})
    _, without, _ = await _both(session, embedder, tenant, q, terms=emptied, options=options)
    assert [(h.chunk_id, h.keyword_rank) for h in without] != [
        (h.chunk_id, h.keyword_rank) for h in plain
    ]
    # terms found for other filters are not used: the statement finds its own
    other = dataclasses.replace(emptied, key=dataclasses.replace(emptied.key, where="AND false"))
    _, ignored, _ = await _both(session, embedder, tenant, q, terms=other, options=options)
    _assert_same(ignored, plain)
