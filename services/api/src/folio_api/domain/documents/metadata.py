"""A document's client metadata: a JSON object PostgreSQL's ``jsonb`` keeps
as the client sent it, checked before anything is stored.

Used by the multipart upload (the ``metadata`` form field,
:func:`parse_metadata`) and by presigned uploads (the request body's
``metadata``, :func:`check_metadata`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from folio_shared.errors import InvalidInput

#: Largest ``metadata`` (the form field, or a presigned upload's), in bytes.
MAX_METADATA_BYTES = 16 * 1024
#: Deepest nesting of objects and arrays in ``metadata``.
MAX_METADATA_DEPTH = 32


def parse_metadata(raw: bytes) -> dict[str, Any]:
    """The ``metadata`` form field: a JSON object (see :func:`check_metadata`)."""
    try:
        value = json.loads(raw or b"{}", parse_constant=_no_constant)
    except RecursionError as e:
        raise InvalidInput(
            f"form field 'metadata': nested deeper than {MAX_METADATA_DEPTH} levels"
        ) from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidInput("form field 'metadata': not valid JSON") from e
    if not isinstance(value, dict):
        raise InvalidInput("form field 'metadata': must be a JSON object")
    return check_metadata(value, "form field 'metadata'")


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def check_metadata(value: dict[str, Any], field: str) -> dict[str, Any]:
    """``value`` if PostgreSQL's ``jsonb`` can keep it as the client sent it,
    else :class:`InvalidInput` naming ``field``: at most
    :data:`MAX_METADATA_BYTES` as JSON and :data:`MAX_METADATA_DEPTH`
    levels deep, no NUL character (``\\u0000``) or lone surrogate in a
    key or string, no number too large for a double (``1e400``) or
    ``NaN``. Found here, these are a 400; found by the database, they
    were a 500 after the file was stored."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_METADATA_DEPTH:
                raise InvalidInput(f"{field}: nested deeper than {MAX_METADATA_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key, field)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item, field)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput(f"{field}: numbers must be finite (and within a double's range)")
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise InvalidInput(f"{field}: over {MAX_METADATA_BYTES} bytes as JSON")
    return value


def _check_text(text: str, field: str) -> None:
    if "\x00" in text:
        raise InvalidInput(f"{field}: text may not contain the NUL character (\\u0000)")
    try:
        text.encode()
    except UnicodeEncodeError as e:
        raise InvalidInput(f"{field}: text may not contain a lone UTF-16 surrogate") from e
