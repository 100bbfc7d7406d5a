"""Running a tenant's search: embed the query (unless keyword-only), then
query its chunks. Under ``by-language`` the query is embedded by its
language's model alone (all-MiniLM-L6-v2 when English or unknown), in the
search's transaction after one bounded look at the tenant's chunks
(:func:`~folio_api.domain.search.repository.prepare`, the statement that
already counted them): by the other model only when the tenant holds none
of the first's. ``GET /v1/search`` and the dashboard both call
:func:`run_search`.

When the query cannot be embedded (Redis unreachable, no worker answering
in time), a hybrid search is ranked by keywords alone and says so
(``fallback``); a semantic one raises the 503.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

import anyio

from folio_api.domain.search.fusion import language_weights, preferred
from folio_api.domain.search.keywords import parse_keywords
from folio_api.domain.search.preparing import Prepared, begin_snapshot, prepare
from folio_api.domain.search.queries import embed_queries, results_backend
from folio_api.domain.search.repository import (
    SearchFilters,
    SearchGroup,
    SearchHit,
    SearchMode,
    SearchOptions,
    search,
)
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


async def _embed(
    res: Resources, q: str, tenant_id: uuid.UUID, models: tuple[str | None, ...] = (None,)
) -> list[list[float]]:
    """The query's vector by each of ``models`` (``None``: the
    deployment's), from worker-docs over the broker."""
    if res.broker is None:
        raise DependencyUnavailable("the broker is not available")
    broker = res.broker
    backend = _backend(res.settings.redis.url)
    return await anyio.to_thread.run_sync(
        functools.partial(
            embed_queries,
            broker,
            q,
            models,
            tenant_id=str(tenant_id),
            timeout_ms=EMBED_TIMEOUT_MS,
            backend=backend,  # type: ignore[arg-type]
        )
    )


def _keywords_instead(mode: SearchMode, e: DependencyUnavailable) -> tuple[SearchMode, str]:
    """A hybrid search whose query could not be embedded is ranked by
    keywords alone (a semantic one raises ``e``)."""
    if mode is SearchMode.SEMANTIC:
        raise e
    log.warning("search falls back to keywords", reason=e.code)
    return SearchMode.KEYWORD, f"keyword ranking only: {e.message}"


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
    by_language = setting == BY_LANGUAGE and mode is not SearchMode.KEYWORD
    if mode is not SearchMode.KEYWORD and not by_language:
        try:
            (vector,) = await _embed(res, q, tenant_id)
        except DependencyUnavailable as e:
            mode, fallback = _keywords_instead(mode, e)
    async with reads(res, tenant_id) as session:  # row-level security: this tenant's rows
        prepared: Prepared | None = None
        if by_language:
            await begin_snapshot(session)  # the model picked and the search: one snapshot
            # which model the tenant's chunks need, asked before embedding
            order = preferred(models_of(setting), detect_query_language(q))
            words = parse_keywords(q).words
            prepared = await prepare(session, tenant_id, options, order, words)
            # hybrid trusts the list as its model reads it: the routing's own
            # weights (measured with its document scores) when the query is
            # embedded by its language's model, else that other model's
            used = prepared.models[0]
            options = _options(BY_LANGUAGE if used == order[0] else used)
            try:
                embedded = await _embed(res, q, tenant_id, prepared.models)
                vectors = dict(zip(prepared.models, embedded, strict=True))
            except DependencyUnavailable as e:
                mode, fallback = _keywords_instead(mode, e)
        hits = await search(
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
        )
    return Found(hits=hits, mode=mode, fallback=fallback)
