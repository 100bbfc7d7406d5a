"""The plans of the webhook calls (``/v1/webhooks``), run by both clients
(see :mod:`folio_client._steps`). Answers are the API's JSON; docs/webhooks.md
describes them and how to verify a delivery's signature."""

from __future__ import annotations

from typing import Any

from folio_client._core import clean_params
from folio_client._steps import Call, Plan


def create_webhook(
    url: str,
    *,
    events: list[str] | None = None,
    description: str = "",
    enabled: bool = True,
) -> Plan[dict[str, Any]]:
    """Register an endpoint (``POST /v1/webhooks``): ``{"webhook": {…},
    "secret": "whsec_…"}``; the secret is shown this once. ``events``:
    the event types to send (default every type)."""
    body = {"url": url, "events": events or [], "description": description, "enabled": enabled}
    created: dict[str, Any] = yield Call("POST", "/v1/webhooks", json=body)
    return created


def webhooks() -> Plan[list[dict[str, Any]]]:
    """The tenant's endpoints, oldest first (``GET /v1/webhooks``)."""
    items: list[dict[str, Any]] = (yield Call("GET", "/v1/webhooks"))["items"]
    return items


def webhook(webhook_id: str) -> Plan[dict[str, Any]]:
    """One endpoint, with why it was disabled if it was (``GET /v1/webhooks/{id}``)."""
    found: dict[str, Any] = yield Call("GET", f"/v1/webhooks/{webhook_id}")
    return found


def update_webhook(
    webhook_id: str,
    *,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> Plan[dict[str, Any]]:
    """Change an endpoint (``PATCH /v1/webhooks/{id}``); ``enabled=True``
    enables a disabled one again. Arguments left at ``None`` stay."""
    body = clean_params(
        {"url": url, "events": events, "description": description, "enabled": enabled}
    )
    changed: dict[str, Any] = yield Call("PATCH", f"/v1/webhooks/{webhook_id}", json=body)
    return changed


def delete_webhook(webhook_id: str) -> Plan[None]:
    """Delete an endpoint and its delivery log (``DELETE /v1/webhooks/{id}``)."""
    yield Call("DELETE", f"/v1/webhooks/{webhook_id}")


def rotate_webhook_secret(webhook_id: str) -> Plan[dict[str, Any]]:
    """A new signing secret, shown this once (``POST …/rotate-secret``)."""
    rotated: dict[str, Any] = yield Call("POST", f"/v1/webhooks/{webhook_id}/rotate-secret")
    return rotated


def webhook_deliveries(
    webhook_id: str, *, status: str | None = None, limit: int = 20, cursor: str | None = None
) -> Plan[dict[str, Any]]:
    """A page of the endpoint's deliveries, newest first, each with every
    attempt (``GET /v1/webhooks/{id}/deliveries``): ``{"items": […],
    "next_cursor": …}``."""
    params = clean_params({"status": status, "limit": limit, "cursor": cursor})
    page: dict[str, Any] = yield Call("GET", f"/v1/webhooks/{webhook_id}/deliveries", params=params)
    return page


def resend_delivery(webhook_id: str, delivery_id: str) -> Plan[dict[str, Any]]:
    """Send a delivery's event again, as a new delivery with the same
    ``webhook-id`` (``POST …/deliveries/{id}/resend``)."""
    again: dict[str, Any] = yield Call(
        "POST", f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"
    )
    return again
