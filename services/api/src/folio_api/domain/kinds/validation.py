"""Checking a job's payload against its kind's JSON schema.

The API never imports the code of a kind: a worker records the payload's
JSON schema in ``job_kinds.payload_schema`` when it starts, and the API
validates against that (``jsonschema_rs``). Compiled validators are kept
per kind and ``updated_at``: a worker that declares a new schema replaces
the row, and the next request compiles the new one.

A payload that does not match is :class:`~folio_shared.errors.InvalidPayload`
(422), whose ``errors`` name each bad field as ``payload.<path>`` (the
same shape as the API's other validation errors: ``source``, ``key``,
``message``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jsonschema_rs

from folio_shared.db.models import JobKind
from folio_shared.errors import InvalidPayload

#: Most errors reported for one payload.
MAX_ERRORS = 20
#: The payload field that carries the version tag: the API sets it, so a
#: schema requiring it is satisfied before validation.
TAG_FIELD = "type"


class PayloadValidators:
    """Compiled validators, one per kind name and ``updated_at``."""

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[datetime, Any]] = {}

    def validator(self, kind: JobKind) -> Any:
        hit = self._compiled.get(kind.name)
        if hit is not None and hit[0] == kind.updated_at:
            return hit[1]
        compiled = jsonschema_rs.validator_for(kind.payload_schema)
        self._compiled[kind.name] = (kind.updated_at, compiled)
        return compiled

    def check(self, kind: JobKind, payload: dict[str, Any], *, field: str = "") -> None:
        """Raise :class:`InvalidPayload` naming each field of ``payload``
        that breaks ``kind``'s schema (``field``: where the job sits in the
        body, e.g. ``jobs[2].``). The tag (``type``) is checked as the
        worker will see it: ``<kind>.v<version>``."""
        tagged = {**payload, TAG_FIELD: f"{kind.name}.v{kind.version}"}
        errors = []
        for error in self.validator(kind).iter_errors(tagged):
            errors.append(
                {
                    "source": "body",
                    "key": field + field_key(_path_of(error)),
                    "message": error.message,
                }
            )
            if len(errors) >= MAX_ERRORS:
                break
        if errors:
            detail = "; ".join(f"body field {e['key']!r}: {e['message']}" for e in errors)
            raise InvalidPayload(
                f"the payload does not match the schema of {kind.name!r}: {detail}",
                kind=kind.name,
                errors=errors,
            )


def _path_of(error: Any) -> list[str | int]:
    """Where ``error`` is; for a missing property, that property's place."""
    path: list[str | int] = list(error.instance_path)
    missing = getattr(error.kind, "property", None)
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Required) and missing:
        path.append(str(missing))
    return path


def field_key(path: list[str | int]) -> str:
    """``["items", 0, "url"]`` → ``payload.items[0].url``."""
    key = "payload"
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key
