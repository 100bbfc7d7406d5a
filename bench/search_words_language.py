"""What deciding a keyword query's language by its words costs: the
statement before each ``by-language`` search, as it is for a query of
known language and with the count of the query's words each language's
chunks hold (``folio_api.domain.search.wording``), which a query of
unknown language now asks.

Fills a tenant of ``--chunks`` chunks and one of ``--small-tenant-chunks``
(30 % Portuguese chunks of the Portuguese relevance set's words, labelled
multilingual-e5-small's; 70 % English ones of the English set's words,
labelled all-MiniLM-L6-v2's), then times :func:`prepare` as the API runs it
(its own snapshot transaction) for every query of both sets that is of
unknown language once its function words are removed, without and with
the words' language, alternated query by query::

    .venv/bin/python bench/search_words_language.py [--chunks 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from folio_api.domain.search.fusion import preferred
from folio_api.domain.search.keywords import parse_keywords
from folio_api.domain.search.preparing import begin_snapshot, prepare
from folio_api.domain.search.repository import SearchOptions
from folio_shared.db.engine import create_session_factory
from folio_shared.embedding_models import BY_LANGUAGE, DEFAULT_MODEL, models_of
from folio_shared.language import detect_query_language

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
from _servers import BenchServers, scratch_database
from runner import load_set
from search_latency import _LISTED_WORD, FILL_SQL, TOTALS_SQL, fill_tenant
from search_relevance import keywords_only


def _vocabulary(language: str) -> list[str]:
    """The words of a set's documents, most frequent first."""
    counts: collections.Counter[str] = collections.Counter()
    for text in load_set(language).documents.values():
        counts.update(w.lower() for w in re.findall(r"[^\W\d_]{2,}", text))
    return [word for word, _ in counts.most_common()]


async def _fill(conn: AsyncConnection, tenant: uuid.UUID, chunks: int) -> None:
    """6 Portuguese and 14 English chunks per document."""
    words = _vocabulary("pt")
    await fill_tenant(conn, tenant, chunks * 6 // 20, 6, words)
    english = _vocabulary("en")
    params = {
        "tenant_id": tenant, "per_document": 14, "words": english, "vocabulary": len(english),
        "model_version": f"{DEFAULT_MODEL}@bench", "language": "en",
    }  # fmt: skip
    after = FILL_SQL.format(word=_LISTED_WORD).replace("d.id, g.i,", "d.id, 6 + g.i,")
    await conn.execute(sa.text(after), params)  # chunk indexes after the Portuguese ones
    await conn.execute(sa.text(TOTALS_SQL), {"tenant_id": tenant})


def _queries() -> list[str]:
    """Both sets' queries of unknown language once their function words go."""
    out = []
    for language in ("pt", "en"):
        for query in load_set(language).queries:
            text = keywords_only(query, language).text
            if detect_query_language(text) is None:
                out.append(text)
    return out


async def run(url: str, chunks: int, small: int, rounds: int) -> None:
    engine = create_async_engine(url)
    tenants = {"large": uuid.uuid4(), "small": uuid.uuid4()}
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP INDEX ix_chunks_embedding_hnsw"))  # not read here
        for name, count in (("large", chunks), ("small", small)):
            await _fill(conn, tenants[name], count)
    async with engine.connect() as conn:
        await conn.execute(sa.text("COMMIT"))
        await conn.execute(sa.text("VACUUM ANALYZE"))
    print(f"filled {chunks} + {small} chunks in {time.perf_counter() - started:.1f}s")
    sessions = create_session_factory(engine)
    options = SearchOptions()
    order = preferred(models_of(BY_LANGUAGE), None)
    texts = _queries()
    times: dict[tuple[str, bool], list[float]] = {}
    decided: dict[str, collections.Counter[str | None]] = {}
    for i in range(rounds + 1):
        for text in texts:
            words = parse_keywords(text).words
            for tenant_name, tenant in tenants.items():
                for by_words in (False, True):
                    async with sessions() as session:
                        await begin_snapshot(session)
                        t0 = time.perf_counter()
                        prepared = await prepare(
                            session, tenant, options, order, words, by_words=by_words
                        )
                        elapsed = (time.perf_counter() - t0) * 1000
                        await session.rollback()
                    if i == 0:  # warm-up
                        if by_words:
                            decided.setdefault(tenant_name, collections.Counter())
                            decided[tenant_name][prepared.language] += 1
                        continue
                    times.setdefault((tenant_name, by_words), []).append(elapsed)
    await engine.dispose()
    print(f"{len(texts)} queries of unknown language; decided: {dict(decided)}")
    print(f"| tenant | statement | p50 ms | p95 ms |  ({rounds} rounds, alternated)")
    print("|---|---|---:|---:|")
    for (tenant_name, by_words), values in times.items():
        p50 = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[18]
        name = "with the words' language" if by_words else "as for a known language"
        print(f"| {tenant_name} | {name} | {p50:.2f} | {p95:.2f} |")


async def _main(pg_url: str, chunks: int, small: int, rounds: int) -> None:
    async with scratch_database(pg_url, "folio_bench_words") as url:
        await run(url, chunks, small, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--small-tenant-chunks", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with BenchServers() as servers:
        asyncio.run(
            _main(servers.postgres.url("postgres"), args.chunks, args.small_tenant_chunks,
                  args.rounds)
        )  # fmt: skip


if __name__ == "__main__":
    main()
