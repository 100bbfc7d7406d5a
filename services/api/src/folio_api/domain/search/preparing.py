"""Before a semantic or hybrid search's statement, in its transaction:
whether the tenant is searched exactly, which model the query is embedded
by (``by-language``), and the transaction's settings
(:mod:`folio_api.domain.search.repository`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.fusion import preferred, query_model
from folio_api.domain.search.statements import HELD_AND_MODELS_SQL, HELD_SQL
from folio_api.domain.search.wording import with_matched, words_language

#: The search transaction's isolation: the statement that picks the query's
#: model and the search see one snapshot, so a tenant that switches models
#: between them (``folio_worker_docs.reembed``) is never ranked half old,
#: half new. Read only, it never fails on a conflict.
SNAPSHOT = {"isolation_level": "REPEATABLE READ"}


class _Bounds(Protocol):
    @property
    def candidates(self) -> int: ...
    @property
    def exact_max_chunks(self) -> int: ...


async def begin_snapshot(session: AsyncSession) -> None:
    """Begin ``session``'s transaction in :data:`SNAPSHOT` (before its first
    statement)."""
    await session.connection(execution_options=SNAPSHOT)


#: SQL: plan the search statement with its values every time, this
#: transaction only. Its best plan depends on them (the tenant's size, how
#: many chunks a word selects); a generic plan, which PostgreSQL may pick
#: for a statement prepared and run 5 times (asyncpg prepares each), chose
#: scans that made hybrid search over 100,000 chunks 2.5x slower at the
#: median and 12x at p95. Planning it takes ~1 ms.
PLANS = "force_custom_plan"


@dataclass(frozen=True, slots=True)
class Prepared:
    """What :func:`prepare` found: whether the tenant is searched exactly,
    the model to embed the query with (``by-language``; empty otherwise),
    the lexemes of ``words`` (:data:`~folio_api.domain.search.statements.LEXEMES_SQL`),
    and, when asked, the language of the tenant's chunks that hold the most
    of them (:mod:`~folio_api.domain.search.wording`; ``None``: a tie, or
    not asked)."""

    exact: bool
    models: tuple[str, ...] = ()
    words: str = ""
    lexemes: tuple[str, ...] = ()
    language: str | None = None


async def prepare(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    options: _Bounds,
    models: Sequence[str] = (),
    words: str = "",
    *,
    by_words: bool = False,
) -> Prepared:
    """In a semantic or hybrid search's transaction: whether the tenant
    holds at most ``exact_max_chunks`` chunks (counted no further); sets
    ``ef_search`` and custom plans (:data:`PLANS`). With ``models``
    (``by-language``, :func:`~folio_api.domain.search.fusion.preferred`'s
    order), in the same statement, the one model to embed the query by:
    :func:`~folio_api.domain.search.fusion.query_model` over the
    (language, model) pairs the tenant holds. Also, in the same statement,
    the lexemes of ``words`` (the query's keywords,
    :func:`~folio_api.domain.search.keywords.parse_keywords`), which keyword
    ranking counts one by one. ``by_words`` (a query of unknown language,
    with ``models``): also the language whose chunks hold the most of
    ``words``, or the tenant's one language (in the same statement:
    :func:`~folio_api.domain.search.wording.words_language`);
    ``models`` are then ordered for that language before the model is
    picked."""
    sql = HELD_AND_MODELS_SQL if models else HELD_SQL
    by_words = by_words and bool(models) and bool(words.strip())
    row = (
        await session.execute(
            sa.text(with_matched(sql) if by_words else sql),
            {
                "tenant_id": tenant_id,
                "limit": options.exact_max_chunks + 1,
                "ef": str(max(40, options.candidates)),
                "plans": PLANS,
                "words": words,
            },
        )
    ).one()
    exact = int(row[0] or 0) <= options.exact_max_chunks
    lexemes = tuple(row[1])
    if not models:
        return Prepared(exact, words=words, lexemes=lexemes)
    language = words_language(row[-1], row[2]) if by_words else None
    if language is not None:
        models = preferred(models, language)
    model = query_model(models, zip(row[2], row[3], strict=True))
    return Prepared(exact, (model,), words, lexemes, language)
