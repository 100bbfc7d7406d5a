"""Migration 0019: a chunk's ``model_version``, which search filters every
candidate chunk by, is read from the row itself, never from TOAST."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
import sqlalchemy as sa
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from folio_shared.db import migrate
from folio_shared.db.engine import async_database_url

pytestmark = pytest.mark.integration

TENANT = "00000000-0000-0000-0000-000000000001"
DOCUMENT = "00000000-0000-0000-0000-0000000000d1"
MODEL = "intfloat/multilingual-e5-small@c007d7ef6fd86656326059b28395a7a03a7c5846"
CHUNKS = 200


def _words(rng: random.Random, n: int) -> str:
    """Text of ``n`` made-up words (compresses little, many distinct terms)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join("".join(rng.choices(letters, k=rng.randint(4, 11))) for _ in range(n))


async def _scan_buffers(url: str) -> tuple[int, int]:
    """Buffers a whole-table scan filtering on ``model_version`` touches,
    and the pages of the table itself."""
    rng = random.Random(20)
    engine = create_async_engine(async_database_url(url), poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM chunks"))
            await conn.execute(sa.text("DELETE FROM documents"))
            await conn.execute(sa.text("DELETE FROM tenants"))
            await conn.execute(
                sa.text("INSERT INTO tenants (id, name) VALUES (:t, 't')"), {"t": TENANT}
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO documents (id, tenant_id, filename, storage_key, status)"
                    " VALUES (:d, :t, 'a.pdf', 'k', 'ready')"
                ),
                {"d": DOCUMENT, "t": TENANT},
            )
            for i in range(CHUNKS):
                vector = json.dumps([rng.uniform(-1, 1) for _ in range(384)])
                await conn.execute(
                    sa.text(
                        "INSERT INTO chunks (tenant_id, document_id, chunk_index, page_start,"
                        " page_end, char_start, char_end, text, token_count, embedding,"
                        " language, model_version, pipeline_version) VALUES (:t, :d, :i, 1, 1,"
                        " 0, 10, :text, 400, CAST(:v AS vector), 'pt', :m, 'p')"
                    ),
                    {"t": TENANT, "d": DOCUMENT, "i": i, "text": _words(rng, 330), "v": vector,
                     "m": MODEL},
                )  # fmt: skip
        async with engine.begin() as conn:
            await conn.execute(sa.text("SET LOCAL enable_indexscan = off"))
            await conn.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
            plan = await conn.scalar(
                sa.text(
                    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)"
                    " SELECT count(*) FROM chunks WHERE model_version LIKE :pattern"
                ),
                {"pattern": MODEL[:20] + "%"},
            )
            pages = await conn.scalar(sa.text("SELECT pg_relation_size('chunks') / 8192"))
    finally:
        await engine.dispose()
    top = plan[0]["Plan"]
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"]), int(pages)


def test_model_version_is_read_from_the_row(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.downgrade(url, "base")
    # Given chunks of 2.5 kB written before 0019: the filter reads TOAST
    migrate.upgrade(url, "0018")
    before, pages = asyncio.run(_scan_buffers(url))
    assert before > 2 * pages, (before, pages)
    # When chunks are written at 0019
    migrate.upgrade(url, "0019")
    after, pages = asyncio.run(_scan_buffers(url))
    # Then the scan reads the table's pages and nothing more
    assert after <= pages + 4, (after, pages)
    migrate.upgrade(url, "head")
    assert migrate.current(url) == migrate.head()
