"""``GET /v1/search``: hybrid search over the tenant's chunks.

The query is embedded by worker-docs (``queries.embed``, request and reply
over the broker, a few seconds at most); the API never loads the model.
Keyword-only searches need no embedding. When the query cannot be embedded
(Redis unreachable, no worker answering in time), a hybrid search is ranked
by keywords alone and says so (``fallback``); a semantic one answers 503.
Results are tenant-scoped: another tenant's documents are never searched.

``group=document`` (default) returns each document once with its best
chunk; ``group=chunk`` returns chunks. ``metadata.<key>=<value>`` (any
number of them) keeps documents whose metadata has that top-level key with
that value (compared as text). ``document_type`` and ``field.<name>``
(``.min``, ``.max``) keep documents by their extracted fields
(:mod:`folio_api.domain.fields.filters`).
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter

from folio_api.domain.auth.principal import Principal
from folio_api.domain.fields.filters import field_filters
from folio_api.domain.search.repository import SearchFilters, SearchGroup, SearchMode
from folio_api.domain.search.services import run_search
from folio_api.errors import problem_responses
from folio_api.params import NO_NUL
from folio_api.resources import get_resources
from folio_shared.db.enums import DocumentKind
from folio_shared.errors import InvalidInput


class SearchHitOut(msgspec.Struct, frozen=True, kw_only=True):
    """One hit: the chunk (its whole ``text``, its offsets in
    ``GET /v1/documents/{id}/text`` and its pages), its document
    (``filename``, ``kind``, ``metadata``, detected ``language``), a
    highlighted snippet (HTML-safe, matches in ``<mark>``), the chunk's
    fused ``score`` and its document's ``document_score`` (0-1).

    ``snippet`` and ``filename_html`` are HTML, escaped, for a result list
    built from them; every other field is plain text (``filename`` as the
    client named the file), to be escaped by whoever puts it in a page."""

    chunk_id: uuid.UUID
    document_id: FromPath[uuid.UUID]
    filename: str
    filename_html: str
    kind: str | None
    metadata: dict[str, Any]
    language: str | None
    chunk_index: int
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    text: str
    snippet: str
    score: float
    document_score: float
    semantic_rank: int | None
    keyword_rank: int | None


class SearchResults(msgspec.Struct, frozen=True, kw_only=True):
    """``results``, best first, for ``query`` in ``mode``; ``fallback`` says
    why a hybrid search was ranked by keywords only (the query could not
    be embedded: Redis unreachable, no worker answering in time), else
    ``None``."""

    query: str
    mode: str
    group: str
    results: list[SearchHitOut]
    fallback: str | None = None


#: Query parameters ``metadata.<key>=<value>`` filter on document metadata.
METADATA_PREFIX = "metadata."


def metadata_filter(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{key: value}`` from the ``metadata.<key>=<value>`` parameters
    (the last one wins for a repeated key); an empty key is invalid."""
    out: dict[str, str] = {}
    for name, value in params:
        if name.startswith(METADATA_PREFIX):
            key = name[len(METADATA_PREFIX) :]
            if not key:
                raise InvalidInput("metadata filter needs a key: metadata.<key>=<value>")
            out[key] = value
    return out


class SearchController(Controller):
    """Search the tenant's documents."""

    path = "/search"
    tags = ["search"]

    @get(
        "/", summary="Search documents (hybrid, semantic or keyword)", responses=problem_responses()
    )
    async def search(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        q: Annotated[
            str, Parameter(min_length=1, max_length=1000, pattern=NO_NUL, description="the query")
        ],
        k: Annotated[int, Parameter(ge=1, le=100, description="results wanted")] = 10,
        mode: FromQuery[SearchMode] = SearchMode.HYBRID,
        group: FromQuery[SearchGroup] = SearchGroup.DOCUMENT,
        document_ids: Annotated[
            list[uuid.UUID] | None, Parameter(description="only these documents")
        ] = None,
        kind: Annotated[
            list[DocumentKind] | None, Parameter(description="only these types")
        ] = None,
        created_from: FromQuery[datetime | None] = None,
        created_to: FromQuery[datetime | None] = None,
        document_type: Annotated[
            list[str] | None,
            Parameter(description="only documents extraction gave one of these types"),
        ] = None,
    ) -> SearchResults:
        fields = field_filters(request.query_params.items(), document_type)
        filters = SearchFilters(
            document_ids=document_ids,
            kinds=[str(k_) for k_ in kind] if kind else None,
            created_from=created_from,
            created_to=created_to,
            metadata=metadata_filter(request.query_params.items()) or None,
            fields=fields or None,
        )
        found = await run_search(
            get_resources(state),
            principal.tenant(),
            q,
            k=k,
            mode=mode,
            group=group,
            filters=filters,
        )
        hits, mode, fallback = found.hits, found.mode, found.fallback
        return SearchResults(
            query=q,
            mode=mode.value,
            group=group.value,
            results=[
                SearchHitOut(
                    chunk_id=h.chunk_id,
                    document_id=h.document_id,
                    filename=h.filename,
                    filename_html=html.escape(h.filename),
                    kind=h.kind,
                    metadata=h.metadata,
                    language=h.language,
                    chunk_index=h.chunk_index,
                    page_start=h.page_start,
                    page_end=h.page_end,
                    char_start=h.char_start,
                    char_end=h.char_end,
                    text=h.text,
                    snippet=h.snippet,
                    score=h.score,
                    document_score=h.document_score,
                    semantic_rank=h.semantic_rank,
                    keyword_rank=h.keyword_rank,
                )
                for h in hits
            ],
            fallback=fallback,
        )
