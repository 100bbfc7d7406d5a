"""What sweeping a tenant's vocabulary costs (``folio_worker_docs.vocabulary_sweep``).

Builds in a scratch database a tenant of ``--documents`` documents (one
chunk each), each collected with ``--per-document`` distinct words drawn
from a vocabulary of ``--words`` words (Zipf-like: rank r drawn with
weight 1/r, as words of real text are), and the vocabulary's rows (zero
vectors: the sweep reads none). Then, ``--rounds`` times, deletes one
document and times the sweep the maintenance round runs (the set
difference over every remaining word list), and times a sweep with
nothing gone (every round's cost when no document was deleted).

    .venv/bin/python bench/vocabulary_sweep.py [--documents 5000] [--words 30000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from folio_shared.db.engine import create_session_factory
from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import (
    EMBEDDING_DIMENSIONS,
    Chunk,
    Document,
    Tenant,
    VocabularySource,
    VocabularyWord,
)
from folio_worker_docs.vocabulary_sweep import sweep

sys.path.insert(0, str(Path(__file__).parent))
from _servers import BenchServers, scratch_database

VERSION = "bench@1"


async def _tenant(session: AsyncSession, args: argparse.Namespace) -> uuid.UUID:
    tenant = Tenant(name=f"sweep-{uuid.uuid4().hex[:6]}")
    session.add(tenant)
    await session.flush()
    rng = np.random.default_rng(5)
    weights = 1 / np.arange(1, args.words + 1)
    weights /= weights.sum()
    zeros = [0.0] * EMBEDDING_DIMENSIONS
    for start in range(0, args.words, 2_000):
        end = min(start + 2_000, args.words)
        rows = [{"tenant_id": tenant.id, "model_version": VERSION, "word": f"w{i}",
                 "embedding": zeros} for i in range(start, end)]  # fmt: skip
        await session.execute(insert(VocabularyWord).values(rows))
    for start in range(0, args.documents, 500):
        documents = [
            Document(tenant_id=tenant.id, filename=f"d{i}.txt", status=DocumentStatus.READY,
                     storage_key=f"tenants/{tenant.id}/{i}")
            for i in range(start, min(start + 500, args.documents))
        ]  # fmt: skip
        session.add_all(documents)
        await session.flush()
        chunks = [
            Chunk(tenant_id=tenant.id, document_id=d.id, chunk_index=0, page_start=1, page_end=1,
                  char_start=0, char_end=1, text="x", token_count=1, pipeline_version="bench",
                  model_version=VERSION)
            for d in documents
        ]  # fmt: skip
        session.add_all(chunks)
        await session.flush()
        sources = []
        for chunk in chunks:
            picked = rng.choice(args.words, size=args.per_document, replace=False, p=weights)
            words = sorted(f"w{i}" for i in picked)
            sources.append({"chunk_id": chunk.id, "tenant_id": tenant.id, "model_version": VERSION,
                            "words": len(words), "word_list": words})  # fmt: skip
        await session.execute(insert(VocabularySource).values(sources))
    await session.commit()
    await session.execute(sa.text("ANALYZE"))
    await session.commit()
    return tenant.id


async def run(pg_url: str, args: argparse.Namespace) -> None:
    async with scratch_database(pg_url, "folio_bench_vocabulary_sweep") as url:
        engine = create_async_engine(url)
        sessions: async_sessionmaker[AsyncSession] = create_session_factory(engine)
        async with sessions() as session:
            tenant = await _tenant(session, args)
            documents = list(
                await session.scalars(sa.select(Document.id).where(Document.tenant_id == tenant))
            )
        swept, idle, deleted = [], [], 0
        for document in documents[: args.rounds]:
            async with sessions() as session:
                await session.execute(sa.delete(Document).where(Document.id == document))
                await session.commit()
            started = time.perf_counter()
            deleted += await sweep(sessions, tenant_id=tenant)
            swept.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await sweep(sessions, tenant_id=tenant)
            idle.append((time.perf_counter() - started) * 1000)
        print(f"{args.documents} documents x {args.per_document} words of {args.words}: "
              f"sweep after a deletion p50 {statistics.median(swept):.1f} ms, "
              f"max {max(swept):.1f} ms ({deleted} words deleted in {args.rounds} rounds); "
              f"with nothing gone p50 {statistics.median(idle):.2f} ms")  # fmt: skip
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-url", help="superuser URL of a PostgreSQL with pgvector")
    parser.add_argument("--documents", type=int, default=5_000)
    parser.add_argument("--per-document", type=int, default=300)
    parser.add_argument("--words", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    if args.pg_url:
        asyncio.run(run(args.pg_url, args))
        return
    with BenchServers() as servers:
        asyncio.run(run(servers.postgres.url("postgres"), args))


if __name__ == "__main__":
    main()
