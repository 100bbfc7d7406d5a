"""Filters on documents' extracted fields, for document listings and search.

Query parameters (any number, all must hold):

- ``document_type=<type>`` (repeatable: any of them): the type the
  classifier chose (``pix_receipt``, ``boleto``, ``nfe``, a plugin's type,
  ``other``).
- ``field.<name>=<value>``: the field's value is exactly ``value``, as
  ``GET /v1/documents/{id}/fields`` shows it (amounts ``150.00``, tax ids
  digits only, dates ``YYYY-MM-DD``).
- ``field.<name>.min=<bound>``, ``field.<name>.max=<bound>``: an inclusive
  range. A number (``100``, ``99.90``) compares the value as a number (a
  value that is not a number is out of range); anything else compares the
  value's first characters as text, as many as the bound has, so
  ``field.paid_at.max=2026-12`` keeps the whole of December 2026.

A document with no extracted fields matches no field filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from folio_shared.errors import InvalidInput

#: Query parameter prefix of field filters.
FIELD_PREFIX = "field."
#: A field or document type name.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Most field filters in one request.
MAX_FILTERS = 16
_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,6})?$")
_VALUE_SQL = "(f.fields -> CAST(:{p}_name AS text) ->> 'value')"


@dataclass(frozen=True, slots=True)
class FieldFilters:
    """Parsed filters: ``document_types`` (any of), and ``(name, op, value)``
    conditions with ``op`` one of ``eq``, ``min``, ``max`` (all of)."""

    document_types: tuple[str, ...] = ()
    conditions: tuple[tuple[str, str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.document_types or self.conditions)


def field_filters(
    params: Iterable[tuple[str, str]], document_types: Iterable[str] | None = None
) -> FieldFilters:
    """The filters among query ``params`` (``field.*``) and ``document_types``;
    :class:`InvalidInput` naming the parameter for a bad name or too many."""
    types = tuple(document_types or ())
    for value in types:
        if not NAME.match(value):
            raise InvalidInput(f"document_type {value!r}: not a type name (snake_case)")
    conditions: list[tuple[str, str, str]] = []
    for key, value in params:
        if not key.startswith(FIELD_PREFIX):
            continue
        name, _, op = key[len(FIELD_PREFIX) :].partition(".")
        op = op or "eq"
        if not NAME.match(name) or op not in ("eq", "min", "max"):
            raise InvalidInput(
                f"query parameter {key!r}: expected field.<name>, field.<name>.min "
                "or field.<name>.max, with a snake_case name"
            )
        if not value or len(value) > 256 or "\x00" in value:
            raise InvalidInput(f"query parameter {key!r}: a value of 1 to 256 characters")
        conditions.append((name, op, value))
    if len(conditions) > MAX_FILTERS:
        raise InvalidInput(f"at most {MAX_FILTERS} field filters")
    return FieldFilters(types, tuple(conditions))


def _condition(index: int, op: str, value: str) -> str:
    p = f"ff{index}"
    field = _VALUE_SQL.format(p=p)
    if op == "eq":
        return f"{field} = CAST(:{p}_value AS text)"
    sign = ">=" if op == "min" else "<="
    if _NUMBER.match(value):
        number = f"CASE WHEN {field} ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN CAST({field} AS numeric) END"
        return f"{number} {sign} CAST(:{p}_value AS numeric)"
    prefix = f"left({field}, length(CAST(:{p}_value AS text)))"
    return f"{prefix} {sign} CAST(:{p}_value AS text)"


def filter_sql(filters: FieldFilters, document_id: str) -> tuple[str, dict[str, Any]]:
    """An SQL condition on the document whose id is the column ``document_id``
    (its tenant is ``:tenant_id``), and its parameters."""
    parts = ["f.document_id = " + document_id, "f.tenant_id = :tenant_id"]
    params: dict[str, Any] = {}
    if filters.document_types:
        types = []
        for index, value in enumerate(filters.document_types):
            types.append(f"CAST(:ft{index} AS text)")
            params[f"ft{index}"] = value
        parts.append(f"f.document_type IN ({', '.join(types)})")
    for index, (name, op, value) in enumerate(filters.conditions):
        parts.append(_condition(index, op, value))
        params[f"ff{index}_name"] = name
        params[f"ff{index}_value"] = value
    # built from constants and the caller's column name; every value is a bound parameter
    sql = "EXISTS (SELECT 1 FROM document_fields f WHERE " + " AND ".join(parts) + ")"  # noqa: S608
    return sql, params
