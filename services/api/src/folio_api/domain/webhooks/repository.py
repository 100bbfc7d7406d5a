"""The webhook tables, as a tenant's requests read and change them.

Every statement filters on the tenant, and the sessions are scoped to it
by row-level security (:func:`folio_api.resources.reads`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.pagination import after_cursor
from folio_shared.db.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from folio_shared.errors import FolioError, NotFound
from folio_shared.webhooks.signing import new_secret


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"


class WebhookDisabled(FolioError):
    """A re-send to an endpoint that is disabled."""

    code = "webhook_disabled"
    http_status = 409


async def create(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    url: str,
    description: str,
    events: list[str],
    enabled: bool,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (flushed, not committed)."""
    secret = new_secret()
    row = WebhookEndpoint(
        tenant_id=tenant_id,
        url=url,
        description=description,
        events=events,
        enabled=enabled,
        secret=secret,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row, secret


async def listed(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[WebhookEndpoint]:
    """The tenant's endpoints, oldest first."""
    rows = await session.scalars(
        sa.select(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return rows.all()


async def get(
    session: AsyncSession, tenant_id: uuid.UUID, webhook_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    """The tenant's endpoint ``webhook_id``; :class:`WebhookNotFound` for
    an unknown id or another tenant's."""
    query = sa.select(WebhookEndpoint).where(
        WebhookEndpoint.id == webhook_id, WebhookEndpoint.tenant_id == tenant_id
    )
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise WebhookNotFound(f"no webhook {webhook_id}", webhook_id=str(webhook_id))
    return row


async def rotate(session: AsyncSession, row: WebhookEndpoint) -> str:
    """Give the endpoint a new secret; returns it."""
    row.secret = new_secret()
    await session.flush()
    return row.secret


def reenable(row: WebhookEndpoint) -> None:
    """Enable the endpoint and forget its run of failures."""
    row.enabled = True
    row.disabled_at = None
    row.disabled_reason = None
    row.failing_since = None


async def deliveries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    webhook_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
) -> tuple[Sequence[WebhookDelivery], dict[uuid.UUID, list[WebhookAttempt]]]:
    """A page of the endpoint's deliveries, newest first, and the attempts
    of each (oldest first)."""
    query = (
        sa.select(WebhookDelivery)
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.endpoint_id == webhook_id,
            after_cursor(WebhookDelivery.created_at, WebhookDelivery.id, cursor),
        )
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows = (await session.scalars(query)).all()
    attempts: dict[uuid.UUID, list[WebhookAttempt]] = {row.id: [] for row in rows}
    if rows:
        found = await session.scalars(
            sa.select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt, WebhookAttempt.id)
        )
        for attempt in found:
            attempts[attempt.delivery_id].append(attempt)
    return rows, attempts


async def resend(
    session: AsyncSession, endpoint: WebhookEndpoint, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """A new delivery of the same event (same ``webhook-id``) to the
    endpoint, due now; the relay sends it."""
    original = await session.scalar(
        sa.select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.tenant_id == endpoint.tenant_id,
        )
    )
    if original is None:
        raise DeliveryNotFound(
            f"no delivery {delivery_id} for webhook {endpoint.id}", delivery_id=str(delivery_id)
        )
    if not endpoint.enabled:
        raise WebhookDisabled(
            f"webhook {endpoint.id} is disabled: enable it (PATCH enabled=true) first"
        )
    again = WebhookDelivery(
        tenant_id=endpoint.tenant_id,
        endpoint_id=endpoint.id,
        event_id=original.event_id,
        event_type=original.event_type,
        payload=original.payload,
    )
    session.add(again)
    await session.flush()
    await session.refresh(again)
    return again
