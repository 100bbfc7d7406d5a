"""Running a tenant's search: embed the query (unless keyword-only), then
query its chunks. ``GET /v1/search`` and the dashboard both call
:func:`run_search`.

The query's ``queries.embed`` message is sent first, and a worker embeds
it while the API opens the tenant's session, runs the statement that
prepares the search (:func:`~folio_api.domain.search.preparing.prepare`:
the tenant's size, the query's lexemes, and under ``by-language`` which
model the tenant's chunks need) and, for a hybrid search, the one that
finds the keyword list's part that needs no vector (the words' counts and
the terms of the chunks the rarer words select:
:mod:`~folio_api.domain.search.keyword_terms`): the search waits for the
vector only after those, and its statement adds the semantic list and
scores and fuses both lists. Under ``by-language`` the message asks for the model of the
query's language (all-MiniLM-L6-v2 when English or unknown,
:func:`~folio_api.domain.search.fusion.preferred`), or the one the
tenant's last search in that language needed when it was the other one
(this process remembers it). A query of unknown language takes the
language of the tenant's chunks that hold the most of its words, found by
the same statement (:mod:`~folio_api.domain.search.wording`). When the
tenant needs another model than asked for (it holds none of that model's
chunks, is switching models:
:func:`~folio_api.domain.search.fusion.query_model`, or the query's words
are of the other language), the query is
embedded again by that one and the first vector is left unread (its
result expires in Redis). The model is picked, the keyword list's part
found and the search run in one snapshot.

A keyword search (``mode=keyword``) embeds the query only when the tenant
has a vocabulary (:mod:`~folio_api.domain.search.vocabulary`), by the model
hybrid would use, and adds the tenant's words nearest it; without a
vocabulary or a vector, the query's own words alone.

When the query cannot be embedded (Redis unreachable, no worker answering
in time), a hybrid search is ranked by keywords alone and says so
(``fallback``); a semantic one raises the 503.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.fusion import language_weights, preferred
from folio_api.domain.search.keyword_terms import KeywordTerms
from folio_api.domain.search.keywords import parse_keywords
from folio_api.domain.search.preparing import Prepared, begin_snapshot, prepare
from folio_api.domain.search.queries import await_vectors, results_backend, send_queries
from folio_api.domain.search.repository import (
    SearchFilters,
    SearchGroup,
    SearchHit,
    SearchMode,
    SearchOptions,
    keyword_terms,
    search,
)
from folio_api.domain.search.vocabulary import added_words
from folio_api.resources import Resources, reads
from folio_shared.embedding_models import BY_LANGUAGE, models_of
from folio_shared.errors import DependencyUnavailable
from folio_shared.language import detect_query_language
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: How long the API waits for a query's vector, in milliseconds.
EMBED_TIMEOUT_MS = 5_000


@dataclass(frozen=True)
class Found:
    """The hits, the mode they were ranked in, and why it differs from
    the one asked for (``None``: it does not)."""

    hits: list[SearchHit]
    mode: SearchMode
    fallback: str | None


@functools.cache
def _backend(redis_url: str) -> object:
    return results_backend(redis_url)


class _Embedding:
    """A query's vector being embedded by a worker: :meth:`send` returns at
    once, :meth:`vector` waits for it (raising what either step raised:
    :class:`~folio_shared.errors.DependencyUnavailable`)."""

    def __init__(self, res: Resources, sent: list[Any] | None, error: Exception | None) -> None:
        self._res, self._sent, self._error = res, sent, error

    @classmethod
    async def send(
        cls, res: Resources, q: str, tenant_id: uuid.UUID, model: str | None
    ) -> _Embedding:
        """Send ``q``'s message for ``model`` (``None``: the deployment's)."""
        if res.broker is None:
            return cls(res, None, DependencyUnavailable("the broker is not available"))
        try:
            sent = await anyio.to_thread.run_sync(
                functools.partial(send_queries, res.broker, q, (model,), tenant_id=str(tenant_id))
            )
        except DependencyUnavailable as e:
            return cls(res, None, e)
        return cls(res, sent, None)

    async def vector(self) -> list[float]:
        """The vector, awaited for at most :data:`EMBED_TIMEOUT_MS`."""
        if self._error is not None or self._sent is None or self._res.broker is None:
            raise self._error or DependencyUnavailable("the broker is not available")
        (vector,) = await anyio.to_thread.run_sync(
            functools.partial(
                await_vectors,
                self._res.broker,
                self._sent,
                timeout_ms=EMBED_TIMEOUT_MS,
                backend=_backend(self._res.settings.redis.url),  # type: ignore[arg-type]
            )
        )
        return vector


def _keywords_instead(mode: SearchMode, e: DependencyUnavailable) -> tuple[SearchMode, str]:
    """A hybrid search whose query could not be embedded is ranked by
    keywords alone (a semantic one raises ``e``)."""
    if mode is SearchMode.SEMANTIC:
        raise e
    log.warning("search falls back to keywords", reason=e.code)
    return SearchMode.KEYWORD, f"keyword ranking only: {e.message}"


#: (tenant, the query's detected language, ``None`` when unknown) -> the
#: model the tenant's last such search needed when it was not that
#: language's (``by-language``): the model the next one's message asks
#: for, which the prepare statement confirms or corrects.
_NEEDED: dict[tuple[uuid.UUID, str | None], str] = {}
#: The most tenants and languages :data:`_NEEDED` holds (the oldest go first).
NEEDED_MAX = 10_000


def _remember(key: tuple[uuid.UUID, str | None], own: str, used: str) -> None:
    if _NEEDED.get(key, own) == used:
        return
    _NEEDED.pop(key, None)
    if used != own:
        _NEEDED[key] = used
        if len(_NEEDED) > NEEDED_MAX:
            del _NEEDED[next(iter(_NEEDED))]


@functools.cache
def _options(model: str) -> SearchOptions:
    """Search's options for a deployment embedding with ``model``."""
    return SearchOptions(language_weights=language_weights(model))


async def run_search(
    res: Resources,
    tenant_id: uuid.UUID,
    q: str,
    *,
    k: int,
    mode: SearchMode,
    group: SearchGroup,
    filters: SearchFilters,
) -> Found:
    """The tenant's best ``k`` hits for ``q``."""
    vector: list[float] | None = None
    vectors: dict[str, list[float]] | None = None
    fallback: str | None = None
    setting = res.settings.pipeline.embedding_model
    options = _options(setting)
    prepared: Prepared | None = None
    if mode is SearchMode.KEYWORD:
        async with reads(res, tenant_id) as session:
            added = await _added_words(res, session, tenant_id, q)
            hits = await _search(
                session, tenant_id, q, k, mode, group, filters, options, expansions=added
            )
        return Found(hits=hits, mode=mode, fallback=None)
    by_language = setting == BY_LANGUAGE
    # by-language: the model of the query's language first (a guess the
    # prepare statement confirms); otherwise the deployment's one model
    language = detect_query_language(q)
    order = preferred(models_of(setting), language) if by_language else []
    key = (tenant_id, language)
    guess = _NEEDED.get(key, order[0]) if order else None
    embedding = await _Embedding.send(res, q, tenant_id, guess)  # embedded meanwhile
    async with reads(res, tenant_id) as session:  # row-level security: this tenant's rows
        if by_language or mode is SearchMode.HYBRID:
            # one snapshot: the model picked, the keyword list's part found
            # while the query is embedded, and the search
            await begin_snapshot(session)
        words = parse_keywords(q).words
        # a query of unknown language: the language its words match decides
        by_words = by_language and language is None and options.language_by_words
        prepared = await prepare(session, tenant_id, options, order, words, by_words=by_words)
        if by_language:
            # hybrid trusts the list as its model reads it: the routing's own
            # weights (measured with its document scores) when the query is
            # embedded by its language's model, else that other model's
            used = prepared.models[0]
            _remember(key, order[0], used)
            own = preferred(order, language or prepared.language)[0]
            options = _options(BY_LANGUAGE if used == own else used)
            if used != guess:  # the tenant needs the other model
                embedding = await _Embedding.send(res, q, tenant_id, used)
        terms = None
        if mode is SearchMode.HYBRID:  # the keyword list's part that needs no vector, meanwhile
            terms = await keyword_terms(
                session, tenant_id=tenant_id, query_text=q, prepared=prepared, k=k,
                filters=filters, options=options,
            )  # fmt: skip
        try:
            if by_language:
                vectors = {prepared.models[0]: await embedding.vector()}
            else:
                vector = await embedding.vector()
        except DependencyUnavailable as e:
            mode, fallback = _keywords_instead(mode, e)
        hits = await _search(
            session, tenant_id, q, k, mode, group, filters, options, vector, vectors, prepared,
            terms=terms,
        )  # fmt: skip
    return Found(hits=hits, mode=mode, fallback=fallback)


async def _search(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    q: str,
    k: int,
    mode: SearchMode,
    group: SearchGroup,
    filters: SearchFilters,
    options: SearchOptions,
    vector: list[float] | None = None,
    vectors: dict[str, list[float]] | None = None,
    prepared: Prepared | None = None,
    expansions: list[str] | None = None,
    terms: KeywordTerms | None = None,
) -> list[SearchHit]:
    return await search(
        session,
        tenant_id=tenant_id,
        query_vector=vector,
        query_vectors=vectors,
        query_text=q,
        k=k,
        mode=mode,
        group=group,
        filters=filters,
        options=options,
        prepared=prepared,
        expansions=expansions or (),
        keyword_terms=terms,
    )


async def _added_words(
    res: Resources, session: AsyncSession, tenant_id: uuid.UUID, q: str
) -> list[str]:
    """The tenant's words nearest ``q``'s meaning, added to a keyword
    search (:func:`~folio_api.domain.search.vocabulary.added_words`), the
    query embedded by the workers."""

    async def embed(models: Sequence[str | None]) -> list[list[float]]:
        # every message sent before the first vector is awaited
        sent = [await _Embedding.send(res, q, tenant_id, model) for model in models]
        return [await embedding.vector() for embedding in sent]

    return await added_words(session, tenant_id, q, res.settings.pipeline.embedding_model, embed)
