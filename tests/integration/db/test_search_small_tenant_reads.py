"""A small tenant's search reads its own chunks, not its neighbours'.

The full-text index holds every tenant's chunks. A word a small tenant
holds in a few chunks can be held by thousands of another tenant's: its
chunks must be found without reading those (before, the keyword list's
selection searched the word's index again and read every tenant's chunks
that hold it, filtering the tenant afterwards). And the semantic list's
candidates are read again by where the list found them, not looked up one
by one through the primary key."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio_api.domain.search.keywords import parse_keywords
from folio_api.domain.search.preparing import begin_snapshot, prepare
from folio_api.domain.search.repository import (
    SearchMode,
    SearchOptions,
    keyword_terms,
    search,
)
from folio_shared.db.engine import create_session_factory

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NEIGHBOUR_CHUNKS = 3000  # every one holds "parafuso"
OWN_CHUNKS = 600
OWN_HOLDERS = 12  # of the tenant's own chunks, these hold "parafuso"
QUERY = "parafuso"

FILL_SQL = """
WITH t AS (INSERT INTO tenants (id, name) VALUES (:tenant, :name) RETURNING id),
d AS (INSERT INTO documents (tenant_id, filename, kind, storage_key, status,
                             chunk_count, token_count)
      SELECT id, 'corpus.txt', 'text', :key, 'ready', :chunks, :chunks * 4 FROM t RETURNING id)
INSERT INTO chunks (tenant_id, document_id, chunk_index, page_start, page_end, char_start,
                    char_end, text, token_count, embedding, pipeline_version)
SELECT :tenant, d.id, g.i, 1, 1, 0, 40,
       CASE WHEN g.i < :holders THEN 'parafuso porca arruela ' ELSE 'porca arruela ' END
       || 'palavra' || g.i,
       4,
       (SELECT CAST(array_agg(sin(g.i * 7 + s.n)) AS vector(384))
          FROM generate_series(1, 384) AS s(n)),
       'test'
FROM d, generate_series(0, :chunks - 1) AS g(i)
"""


class _Capture:
    """The session search is given: runs what it asks, keeps every statement."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.statements: list[tuple[Any, Any]] = []

    async def execute(self, stmt: Any, params: Any = None) -> Any:
        self.statements.append((stmt, params))
        return await self.session.execute(stmt, params)


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node] + [n for child in node.get("Plans", []) for n in _nodes(child)]


async def _plan(session: AsyncSession, stmt: Any, params: Any) -> dict[str, Any]:
    explain = sa.text("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + stmt.text)
    plan = await session.scalar(explain.bindparams(*stmt._bindparams.values()), params)
    return plan[0]["Plan"]  # type: ignore[no-any-return]


def _chunk_rows_read(plan: dict[str, Any]) -> int:
    """Rows the plan's scans of ``chunks`` read (kept or filtered out)."""
    return sum(
        (
            node.get("Actual Rows", 0)
            + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0)
        )
        * node.get("Actual Loops", 1)
        for node in _nodes(plan)
        if node.get("Relation Name") == "chunks"
    )


@pytest.fixture(scope="module")
async def tenants(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    ids = {"own": uuid.uuid4(), "neighbour": uuid.uuid4()}
    async with engine.begin() as conn:
        for name, chunks, holders in (
            ("neighbour", NEIGHBOUR_CHUNKS, NEIGHBOUR_CHUNKS),
            ("own", OWN_CHUNKS, OWN_HOLDERS),
        ):
            await conn.execute(
                sa.text(FILL_SQL),
                {
                    "tenant": ids[name],
                    "name": f"reads-{name}-{ids[name].hex[:6]}",
                    "key": f"reads/{ids[name]}",
                    "chunks": chunks,
                    "holders": holders,
                },
            )
    async with engine.connect() as conn:
        await conn.execute(sa.text("ANALYZE chunks"))
        await conn.commit()
    return ids


async def test_a_rare_words_chunks_are_found_without_reading_other_tenants(
    engine: AsyncEngine, tenants: dict[str, uuid.UUID]
) -> None:
    """Given a word held by 12 of the tenant's 600 chunks and by all 3,000
    of another tenant's, when the keyword list's vector-free part selects
    the chunks that hold it, then it finds those 12, reads them once where
    the word's count found them (a TID scan, not a second search of the
    word's index, which holds the neighbour's 3,000), and no scan reads
    more than the tenant's own chunks."""
    factory = create_session_factory(engine)
    async with factory() as session:
        await begin_snapshot(session)
        prepared = await prepare(
            session, tenants["own"], SearchOptions(), (), parse_keywords(QUERY).words
        )
        capture = _Capture(session)
        terms = await keyword_terms(
            capture,  # type: ignore[arg-type]
            tenant_id=tenants["own"],
            query_text=QUERY,
            prepared=prepared,
        )
        ((stmt, params),) = capture.statements
        plan = await _plan(session, stmt, params)
        await session.rollback()
    assert terms is not None
    assert len(set(terms.terms["id"])) == OWN_HOLDERS
    nodes = [n for n in _nodes(plan) if n.get("Relation Name") == "chunks"]
    # the selection reads exactly the chunks the count found
    reread = [n for n in nodes if n["Node Type"] == "Tid Scan"]
    assert sum(n["Actual Rows"] * n["Actual Loops"] for n in reread) == OWN_HOLDERS, plan
    # and no scan reads more than the tenant's own chunks
    assert all(_chunk_rows_read(n) <= OWN_CHUNKS for n in nodes), plan


async def test_the_semantic_candidates_are_not_looked_up_by_primary_key(
    engine: AsyncEngine, tenants: dict[str, uuid.UUID]
) -> None:
    """Given a hybrid search of the small tenant (searched exactly), its
    statement reads the semantic candidates' words where the list found
    them (by ``ctid``): the primary key is used only for the ``k`` hits
    returned."""
    factory = create_session_factory(engine)
    vector = [0.0] * 384
    vector[0] = 1.0
    async with factory() as session:
        await begin_snapshot(session)
        capture = _Capture(session)
        hits = await search(
            capture,  # type: ignore[arg-type]
            tenant_id=tenants["own"],
            query_vector=vector,
            query_text=QUERY,
            k=10,
            mode=SearchMode.HYBRID,
        )
        stmt, params = capture.statements[-1]
        plan = await _plan(session, stmt, params)
        await session.rollback()
    assert len(hits) == 1  # one document: its best chunk
    nodes = _nodes(plan)
    lookups = sum(
        node.get("Actual Loops", 1) for node in nodes if node.get("Index Name") == "pk_chunks"
    )
    assert lookups <= 10, plan
    reread = [n for n in nodes if n["Node Type"] == "Tid Scan" and n["Relation Name"] == "chunks"]
    assert sum(n["Actual Rows"] * n["Actual Loops"] for n in reread) >= OWN_HOLDERS, plan
