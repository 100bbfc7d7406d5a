"""``/v1/webhooks``: a tenant's webhook endpoints, their signing secrets,
delivery logs and manual re-sends.

Events are written by the database in the transaction that commits what
they report (migration 0013) and sent by worker-docs (``webhooks.deliver``);
docs/webhooks.md is the guide.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from folio_api.domain.auth.principal import Principal
from folio_api.domain.webhooks import repository
from folio_api.domain.webhooks.schemas import (
    AttemptOut,
    DeliveryList,
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    WebhookSecret,
    WebhookUpdate,
)
from folio_api.errors import problem_responses
from folio_api.pagination import DEFAULT_LIMIT, Cursor, Limit, encode_cursor
from folio_api.resources import get_resources, reads
from folio_shared.db.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from folio_shared.webhooks import check_event_types
from folio_shared.webhooks.addresses import check_url

DeliveryStatus = Annotated[
    Literal["pending", "succeeded", "failed"] | None,
    Parameter(description="only the deliveries in this state"),
]


def _out(row: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=row.id,
        url=row.url,
        description=row.description,
        events=list(row.events),
        enabled=row.enabled,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _attempt(row: WebhookAttempt) -> AttemptOut:
    return AttemptOut(
        attempt=row.attempt,
        started_at=row.started_at,
        status_code=row.status_code,
        latency_ms=row.latency_ms,
        error=row.error,
        response_body=row.response_body,
        next_retry_at=row.next_retry_at,
    )


def _delivery(row: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        event_id=str(row.payload.get("id") or f"evt_{row.event_id.hex}"),
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        payload=row.payload,
        attempt_log=[_attempt(a) for a in attempts],
    )


def _checked_url(state: State, url: str) -> str:
    allowed = get_resources(state).settings.webhooks.allow_private_addresses
    return check_url(url, allow_private=allowed)


class WebhooksController(Controller):
    """Create, list, change and delete webhook endpoints; their deliveries."""

    path = "/webhooks"
    tags = ["webhooks"]

    @post(
        "/",
        summary="Register a webhook endpoint (its signing secret is shown once)",
        status_code=201,
        responses=problem_responses(422),
    )
    async def create_webhook(
        self, state: State, principal: NamedDependency[Principal], data: JSONBody[WebhookCreate]
    ) -> WebhookCreated:
        url = _checked_url(state, data.url)
        events = check_event_types(data.events)
        tenant = principal.tenant()
        async with reads(get_resources(state), tenant) as session:
            row, secret = await repository.create(
                session,
                tenant,
                url=url,
                description=data.description,
                events=events,
                enabled=data.enabled,
            )
            await session.commit()
            return WebhookCreated(webhook=_out(row), secret=secret)

    @get("/", summary="The tenant's webhook endpoints", responses=problem_responses())
    async def list_webhooks(
        self, state: State, principal: NamedDependency[Principal]
    ) -> WebhookList:
        tenant = principal.tenant()
        async with reads(get_resources(state), tenant) as session:
            return WebhookList(items=[_out(r) for r in await repository.listed(session, tenant)])

    @get(
        "/{webhook_id:uuid}",
        summary="One webhook endpoint (with why it was disabled, if it was)",
        responses=problem_responses(404),
    )
    async def get_webhook(
        self, state: State, principal: NamedDependency[Principal], webhook_id: FromPath[uuid.UUID]
    ) -> WebhookOut:
        tenant = principal.tenant()
        async with reads(get_resources(state), tenant) as session:
            return _out(await repository.get(session, tenant, webhook_id))

    @patch(
        "/{webhook_id:uuid}",
        summary="Change a webhook endpoint; enabled=true re-enables a disabled one",
        responses=problem_responses(404, 422),
    )
    async def update_webhook(
        self,
        state: State,
        principal: NamedDependency[Principal],
        webhook_id: FromPath[uuid.UUID],
        data: JSONBody[WebhookUpdate],
    ) -> WebhookOut:
        url = None if data.url is msgspec.UNSET else _checked_url(state, data.url)
        events = None if data.events is msgspec.UNSET else check_event_types(data.events)
        tenant = principal.tenant()
        async with reads(get_resources(state), tenant) as session:
            row = await repository.get(session, tenant, webhook_id, lock=True)
            if url is not None:
                row.url = url
            if events is not None:
                row.events = events
            if data.description is not msgspec.UNSET:
                row.description = data.description
            if data.enabled is True:
                repository.reenable(row)
            elif data.enabled is False:
                row.enabled = False
            await session.commit()
            await session.refresh(row)
            return _out(row)

    @delete(
        "/{webhook_id:uuid}",
        summary="Delete a webhook endpoint and its delivery log",
        status_code=204,
        responses=problem_responses(404),
    )
    async def delete_webhook(
        self, state: State, principal: NamedDependency[Principal], webhook_id: FromPath[uuid.UUID]
    ) -> None:
        tenant = principal.tenant()
        async with reads(get_resources(state), tenant) as session:
            row = await repository.get(session, tenant, webhook_id, lock=True)
            await session.delete(row)
            await session.commit()

    @post(
        "/{webhook_id:uuid}/rotate-secret",
        summary="Give the endpoint a new signing secret (shown once; the old one stops signing)",
        status_code=200,
        responses=problem_responses(404),
    )
    async def rotate_secret(
        self, state: State, principal: NamedDependency[Principal], webhook_id: FromPath[uuid.UUID]
    ) -> WebhookSecret:
        tenant = principal.tenant()
        async with reads(get_resources(state), tenant) as session:
            row = await repository.get(session, tenant, webhook_id, lock=True)
            secret = await repository.rotate(session, row)
            await session.commit()
            return WebhookSecret(webhook_id=webhook_id, secret=secret)

    @get(
        "/{webhook_id:uuid}/deliveries",
        summary="The endpoint's deliveries, newest first, each with every attempt",
        responses=problem_responses(404),
    )
    async def list_deliveries(
        self,
        state: State,
        principal: NamedDependency[Principal],
        webhook_id: FromPath[uuid.UUID],
        status: DeliveryStatus = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> DeliveryList:
        tenant = principal.tenant()
        async with reads(get_resources(state), tenant) as session:
            await repository.get(session, tenant, webhook_id)
            rows, attempts = await repository.deliveries(
                session, tenant, webhook_id, limit=limit, cursor=cursor, status=status
            )
        last = rows[-1] if len(rows) == limit else None
        return DeliveryList(
            items=[_delivery(r, attempts[r.id]) for r in rows],
            next_cursor=encode_cursor(last.created_at, last.id) if last else None,
        )

    @post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/resend",
        summary="Send a delivery's event to the endpoint again (a new delivery, same event id)",
        status_code=202,
        responses=problem_responses(404, 409),
    )
    async def resend_delivery(
        self,
        state: State,
        principal: NamedDependency[Principal],
        webhook_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
    ) -> DeliveryOut:
        tenant = principal.tenant()
        async with reads(get_resources(state), tenant) as session:
            endpoint = await repository.get(session, tenant, webhook_id)
            again = await repository.resend(session, endpoint, delivery_id)
            await session.commit()
            return _delivery(again, [])
