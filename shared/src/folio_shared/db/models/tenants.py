"""Tenants and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from folio_shared.db.enums import ApiKeyKind
from folio_shared.db.models.base import (
    Base,
    check_in,
    created_at_column,
    enum_type,
    tenant_fk,
    uuid_pk,
)


class Tenant(Base):
    """One customer: owns API keys, documents, jobs and chunks.

    ``document_retention_days``: documents older than this are purged
    (``None``, the default: kept until deleted).
    """

    __tablename__ = "tenants"
    __table_args__ = (
        sa.CheckConstraint("document_retention_days > 0", name="retention_positive"),
        check_in("max_priority", ("low", "normal", "high", "critical"), "max_priority"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    document_retention_days: Mapped[int | None]
    #: The job kinds the tenant may submit (``None``: every kind).
    allowed_kinds: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    #: The highest priority the tenant may ask for (``None``: any).
    max_priority: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = created_at_column()


class ApiKey(Base):
    """An API key: only its public ``prefix`` and its SHA-256 ``key_hash``
    are stored, never the key (see :mod:`folio_shared.security`).

    A ``tenant`` key has a ``tenant_id``; an ``operator`` key has none and
    opens the ops API. ``revoked_at`` set: the key no longer authenticates.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        check_in("kind", [k.value for k in ApiKeyKind], "kind"),
        sa.CheckConstraint("(kind = 'tenant') = (tenant_id IS NOT NULL)", name="kind_tenant"),
        sa.Index("ix_api_keys_tenant_id", "tenant_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID | None] = tenant_fk(nullable=True)
    kind: Mapped[ApiKeyKind] = mapped_column(enum_type(ApiKeyKind))
    name: Mapped[str] = mapped_column(sa.Text)
    prefix: Mapped[str] = mapped_column(sa.String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
