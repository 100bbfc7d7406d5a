"""Webhooks (migration 0013): a tenant's endpoints, the deliveries the
database writes for them in the transaction that commits what they report,
and every attempt to deliver one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio_shared.db.models.base import (
    Base,
    check_in,
    created_at_column,
    tenant_fk,
    updated_at_column,
    uuid_pk,
)

#: A delivery's states: waiting for its next attempt, delivered (a 2xx),
#: or given up (attempts used up, endpoint disabled or deleted meanwhile).
DELIVERY_STATES = ("pending", "succeeded", "failed")


class WebhookEndpoint(Base):
    """Where a tenant wants events sent.

    ``events``: the event types sent (empty: all); ``secret``: the signing
    secret (``whsec_`` + base64 key); ``failing_since``: the first failed
    attempt of the current run of failures (cleared by a success);
    ``disabled_at`` / ``disabled_reason``: why Folio stopped sending.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.Index("ix_webhook_endpoints_tenant_id", "tenant_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    url: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str] = mapped_column(sa.Text, server_default="")
    events: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text), default=list, server_default=sa.text("'{}'::text[]")
    )
    enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    secret: Mapped[str] = mapped_column(sa.Text)
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class WebhookDelivery(Base):
    """One event for one endpoint: the outbox row of a webhook.

    ``event_id`` is the same for every endpoint the event went to and is
    the ``webhook-id`` header (stable across attempts, so receivers can
    de-duplicate); ``payload``: the body sent; ``sent_at``: when its
    delivery message went to the broker (``NULL``: the relay sends it).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        check_in("status", DELIVERY_STATES, "status"),
        sa.Index("ix_webhook_deliveries_endpoint_id_created_at", "endpoint_id", "created_at"),
        sa.Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(sa.Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(sa.String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(server_default=sa.func.now())
    sent_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class WebhookAttempt(Base):
    """One attempt to deliver: the answer's status code (``None``: no
    answer), how long it took, the error, the first bytes of the answer,
    and when the next attempt is due (``None``: none)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.Index("ix_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int]
    started_at: Mapped[datetime] = created_at_column()
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(sa.Text)
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    next_retry_at: Mapped[datetime | None]
