"""Typed results of the webhook calls (``/v1/webhooks``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from folio_client.models import Wire


@dataclass(frozen=True)
class Webhook(Wire):
    """An endpoint: ``url``, the ``events`` sent (empty: all), ``enabled``;
    disabled by Folio after failing for too long: ``disabled_at`` and
    ``disabled_reason``; ``failing_since``: the current run of failures."""

    id: str
    url: str
    description: str = ""
    events: list[str] = field(default_factory=list)
    enabled: bool = True
    disabled_at: str | None = None
    disabled_reason: str | None = None
    failing_since: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class WebhookCreated(Wire):
    """The new endpoint and its signing ``secret``, shown this once."""

    webhook: Webhook
    secret: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {"webhook": Webhook.from_json(data["webhook"])}


@dataclass(frozen=True)
class WebhookSecret(Wire):
    """An endpoint's new signing ``secret`` (the old one no longer signs)."""

    webhook_id: str
    secret: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class DeliveryAttempt(Wire):
    """One attempt to deliver: ``status_code`` (``None``: no answer),
    ``latency_ms``, ``error``, the answer's first bytes, the next attempt."""

    attempt: int
    started_at: str | None = None
    status_code: int | None = None
    latency_ms: int = 0
    error: str | None = None
    response_body: str | None = None
    next_retry_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Delivery(Wire):
    """One event sent to an endpoint: ``status`` (``pending``,
    ``succeeded``, ``failed``), the ``payload`` sent and every attempt."""

    id: str
    event_id: str
    event_type: str
    status: str
    attempts: int = 0
    next_attempt_at: str | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: str | None = None
    delivered_at: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    attempt_log: list[DeliveryAttempt] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "attempt_log": [DeliveryAttempt.from_json(a) for a in data.get("attempt_log") or []]
        }


@dataclass(frozen=True)
class DeliveryPage(Wire):
    """Deliveries, newest first; ``next_cursor`` fetches the next page."""

    items: list[Delivery] = field(default_factory=list)
    next_cursor: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {"items": [Delivery.from_json(d) for d in data.get("items") or []]}
