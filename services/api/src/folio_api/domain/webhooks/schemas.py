"""Wire types of the webhook routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from folio_api.params import NO_NUL

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=NO_NUL)]
Description = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
EventNames = Annotated[list[str], msgspec.Meta(max_length=20)]


class WebhookCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new endpoint: ``url`` (``http``/``https``), ``description``,
    ``events`` (the event types to send; empty or left out: every type),
    ``enabled`` (default true)."""

    url: Url
    description: Description = ""
    events: EventNames = msgspec.field(default_factory=list)
    enabled: bool = True


class WebhookUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to change; fields left out stay. ``enabled: true`` on a
    disabled endpoint enables it again and clears why it was disabled."""

    url: Url | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    events: EventNames | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class WebhookOut(msgspec.Struct, frozen=True, kw_only=True):
    """An endpoint. ``events``: the types sent (empty: all);
    ``enabled`` false with ``disabled_at`` and ``disabled_reason``: Folio
    stopped sending after every attempt failed for too long (or the tenant
    disabled it: no reason); ``failing_since``: the first failed attempt
    of the current run of failures, if any."""

    id: uuid.UUID
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The new endpoint and its signing ``secret``, shown this once."""

    webhook: WebhookOut
    secret: str


class WebhookSecret(msgspec.Struct, frozen=True, kw_only=True):
    """The endpoint's new signing ``secret`` (the old one no longer signs)."""

    webhook_id: uuid.UUID
    secret: str


class WebhookList(msgspec.Struct, frozen=True, kw_only=True):
    """The tenant's endpoints, oldest first."""

    items: list[WebhookOut]


class AttemptOut(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt: ``status_code`` (``None``: no answer), ``latency_ms``,
    ``error``, the first bytes of the answer (``response_body``) and when
    the next attempt is due (``next_retry_at``; ``None``: no other)."""

    attempt: int
    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_body: str | None
    next_retry_at: datetime | None


class DeliveryOut(msgspec.Struct, frozen=True, kw_only=True):
    """One event sent to the endpoint: ``status`` ``pending`` (next attempt
    at ``next_attempt_at``), ``succeeded`` or ``failed`` (given up);
    ``payload``: the body sent; ``attempt_log``: every attempt, oldest first."""

    id: uuid.UUID
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]
    attempt_log: list[AttemptOut]


class DeliveryList(msgspec.Struct, frozen=True, kw_only=True):
    """Deliveries, newest first; ``next_cursor`` fetches the next page."""

    items: list[DeliveryOut]
    next_cursor: str | None = None
