"""Keyset (cursor) pagination on ``(created_at, id)``, newest first.

A cursor is opaque to clients: the URL-safe base64 of the last row's
``created_at`` (ISO 8601) and ``id``. A malformed cursor is a 400 naming the
``cursor`` parameter.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from litestar.params import Parameter

from folio_shared.errors import InvalidInput

#: Default and largest page size.
DEFAULT_LIMIT = 20
MAX_LIMIT = 100

#: The ``limit`` and ``cursor`` query parameters of a paginated list.
Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="page size")]
Cursor = Annotated[
    str | None, Parameter(max_length=512, description="next_cursor of the previous page")
]


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, row_id = raw.partition("|")
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError("naive time")
        return at, uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidInput("query field 'cursor': not a cursor this API returned") from e


def after_cursor(created_col: Any, id_col: Any, cursor: str | None) -> Any:
    """The WHERE clause for rows after ``cursor`` in newest-first order."""
    if cursor is None:
        return sa.true()
    at, row_id = decode_cursor(cursor)
    return sa.tuple_(created_col, id_col) < sa.tuple_(
        sa.literal(at, sa.DateTime(timezone=True)), sa.literal(row_id, sa.Uuid)
    )
