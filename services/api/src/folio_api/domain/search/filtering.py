"""A search's filters (:class:`SearchFilters`) as SQL: the condition every
list of the search applies to its chunks (alias ``c``) and the values it
binds (:func:`scope`), and the statement text with those values typed
(:func:`bound`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from folio_api.domain.fields.filters import FieldFilters
from folio_api.domain.fields.filters import filter_sql as fields_sql
from folio_api.domain.search.statements import filter_sql


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Optional filters; ``None`` (the default) filters nothing.

    ``document_ids``: only these documents. ``kinds``: only these document
    types (:class:`~folio_shared.db.enums.DocumentKind` values).
    ``created_from`` (inclusive) / ``created_to`` (exclusive): documents
    created in this range (timezone-aware). ``metadata``: documents whose
    metadata has every one of these top-level keys with this value, compared
    as text (``{"year": "2024"}`` matches the number 2024 and the string).
    ``fields``: documents whose extracted fields pass these filters
    (:mod:`folio_api.domain.fields.filters`).
    """

    document_ids: Sequence[uuid.UUID] | None = None
    kinds: Sequence[str] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    metadata: Mapping[str, str] | None = None
    fields: FieldFilters | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """``where``: SQL (``AND ...``, ``""`` for no filter) on a chunk ``c``;
    ``params``: the values it binds."""

    where: str
    params: Mapping[str, object]


def scope(filters: SearchFilters) -> Scope:
    """The condition and values of ``filters``."""
    where = filter_sql(
        document_ids=filters.document_ids is not None,
        kinds=filters.kinds is not None,
        created_from=filters.created_from is not None,
        created_to=filters.created_to is not None,
        metadata=filters.metadata is not None,
    )
    params: dict[str, object] = {
        "document_ids": list(filters.document_ids) if filters.document_ids is not None else None,
        "kinds": list(filters.kinds) if filters.kinds is not None else None,
        "created_from": filters.created_from,
        "created_to": filters.created_to,
        "metadata_keys": list(filters.metadata) if filters.metadata is not None else None,
        "metadata_values": (
            list(filters.metadata.values()) if filters.metadata is not None else None
        ),
    }
    if filters.fields:
        condition, field_params = fields_sql(filters.fields, "c.document_id")
        where += " AND " + condition
        params |= field_params
    return Scope(where, params)


def bound(sql: str, params: Mapping[str, object]) -> tuple[sa.TextClause, dict[str, object]]:
    """``sql`` as a statement, its filters' arrays typed, and the values
    of ``params`` it names (a value it does not name is left out)."""
    stmt = sa.text(sql)
    if ":document_ids" in sql:
        stmt = stmt.bindparams(sa.bindparam("document_ids", type_=ARRAY(sa.Uuid)))
    for name in ("kinds", "metadata_keys", "metadata_values"):
        if f":{name}" in sql:
            stmt = stmt.bindparams(sa.bindparam(name, type_=ARRAY(sa.Text)))
    return stmt, {name: value for name, value in params.items() if f":{name}" in sql}
