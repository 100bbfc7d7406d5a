"""Structured fields extracted from payment documents (migration 0006)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio_shared.db.models.base import Base, created_at_column, tenant_fk


class DocumentFields(Base):
    """The structured fields of one document.

    ``document_type``: what the classifier chose (``pix_receipt``,
    ``boleto``, ``nfe``, a plugin's type, ``other``), ``None`` until the
    document has been through extraction. ``extractor_version``:
    ``<type>/<version>`` of the extractor that ran. ``fields``: name →
    ``{value, confidence, page, span, valid?, alternatives?}``.
    ``expected``: the client's expected values (name → value), ``verdicts``:
    name → ``match``/``mismatch``/``missing``. ``extracted_at``: when the
    fields were last written.
    """

    __tablename__ = "document_fields"
    __table_args__ = (
        sa.Index("ix_document_fields_tenant_id_document_type", "tenant_id", "document_type"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    document_type: Mapped[str | None] = mapped_column(sa.Text)
    extractor_version: Mapped[str | None] = mapped_column(sa.Text)
    fields: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=sa.text("'{}'::jsonb")
    )
    expected: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    verdicts: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    extracted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
