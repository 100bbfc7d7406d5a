"""The plans of the webhook calls (``/v1/webhooks``), run by both clients
(see :mod:`folio_client._steps`). Answers are typed
(:mod:`folio_client.models_webhooks`); docs/webhooks.md describes them and
how to verify a delivery's signature."""

from __future__ import annotations

from folio_client._core import clean_params
from folio_client._steps import Call, Plan
from folio_client.models_webhooks import (
    Delivery,
    DeliveryPage,
    Webhook,
    WebhookCreated,
    WebhookSecret,
)


def create_webhook(
    url: str,
    *,
    events: list[str] | None = None,
    description: str = "",
    enabled: bool = True,
) -> Plan[WebhookCreated]:
    """Register an endpoint (``POST /v1/webhooks``): the ``webhook`` and
    its ``secret`` (``whsec_…``), shown this once. ``events``: the event
    types to send (default every type)."""
    body = {"url": url, "events": events or [], "description": description, "enabled": enabled}
    return WebhookCreated.from_json((yield Call("POST", "/v1/webhooks", json=body)))


def webhooks() -> Plan[list[Webhook]]:
    """The tenant's endpoints, oldest first (``GET /v1/webhooks``)."""
    return [Webhook.from_json(w) for w in (yield Call("GET", "/v1/webhooks"))["items"]]


def webhook(webhook_id: str) -> Plan[Webhook]:
    """One endpoint, with why it was disabled if it was (``GET /v1/webhooks/{id}``)."""
    return Webhook.from_json((yield Call("GET", f"/v1/webhooks/{webhook_id}")))


def update_webhook(
    webhook_id: str,
    *,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> Plan[Webhook]:
    """Change an endpoint (``PATCH /v1/webhooks/{id}``); ``enabled=True``
    enables a disabled one again. Arguments left at ``None`` stay."""
    body = clean_params(
        {"url": url, "events": events, "description": description, "enabled": enabled}
    )
    return Webhook.from_json((yield Call("PATCH", f"/v1/webhooks/{webhook_id}", json=body)))


def delete_webhook(webhook_id: str) -> Plan[None]:
    """Delete an endpoint and its delivery log (``DELETE /v1/webhooks/{id}``)."""
    yield Call("DELETE", f"/v1/webhooks/{webhook_id}")


def rotate_webhook_secret(webhook_id: str) -> Plan[WebhookSecret]:
    """A new signing secret, shown this once (``POST …/rotate-secret``)."""
    path = f"/v1/webhooks/{webhook_id}/rotate-secret"
    return WebhookSecret.from_json((yield Call("POST", path)))


def webhook_deliveries(
    webhook_id: str, *, status: str | None = None, limit: int = 20, cursor: str | None = None
) -> Plan[DeliveryPage]:
    """A page of the endpoint's deliveries, newest first, each with every
    attempt (``GET /v1/webhooks/{id}/deliveries``); pass ``next_cursor``
    as ``cursor`` for the next page."""
    params = clean_params({"status": status, "limit": limit, "cursor": cursor})
    path = f"/v1/webhooks/{webhook_id}/deliveries"
    return DeliveryPage.from_json((yield Call("GET", path, params=params)))


def resend_delivery(webhook_id: str, delivery_id: str) -> Plan[Delivery]:
    """Send a delivery's event again, as a new delivery with the same
    ``webhook-id`` (``POST …/deliveries/{id}/resend``)."""
    path = f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"
    return Delivery.from_json((yield Call("POST", path)))
