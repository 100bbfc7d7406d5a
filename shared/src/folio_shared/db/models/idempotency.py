"""The first responses of ``POST`` requests that carried an idempotency key
(migration 0009)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio_shared.db.models.base import Base, created_at_column


class IdempotencyKey(Base):
    """A request's claim on ``(scope, key)`` and, once it has answered, its
    response (``status_code``, ``response_headers``, ``response_body``).

    ``scope``: ``tenant:<uuid>`` or, for an operator key, ``key:<uuid>``;
    ``request_hash``: SHA-256 of method, path, query and body (``None``
    while the first request is still running); ``completed_at``: when the
    response was stored.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.Index("ix_idempotency_keys_created_at", "created_at"),)

    scope: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    method: Mapped[str] = mapped_column(sa.String(16))
    path: Mapped[str] = mapped_column(sa.Text)
    request_hash: Mapped[str | None] = mapped_column(sa.String(64))
    status_code: Mapped[int | None]
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    response_body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None]
