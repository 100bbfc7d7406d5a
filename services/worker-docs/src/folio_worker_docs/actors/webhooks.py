"""``webhooks.deliver``: one attempt to deliver a webhook event.

The attempt is claimed in PostgreSQL (fenced on the attempt count), made
over HTTP (:mod:`folio_worker_docs.webhooks.send`), and recorded with its
consequences (:mod:`folio_worker_docs.webhooks.store`). A failed attempt is
not an exception: the delivery row is made due again after a backoff and
the relay sends the next attempt. That is written here rather than left
to Dramatiq's ``Retries`` because the delivery log must show each attempt's
next retry time exactly, the schedule must outlive a Redis flush (the
database is the outbox), and a disabled endpoint or a manual re-send must
change it. Dramatiq's ``Retries`` (this actor's ``max_retries`` and
backoff) still covers what is transient on Folio's side: PostgreSQL
unreachable before the attempt is claimed.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import dramatiq
import msgspec

from folio_shared import metrics
from folio_shared.logging import get_logger
from folio_shared.messages import DeliverWebhookV1, Queue, decode_as, physical_queue_names
from folio_shared.resources import resources
from folio_shared.webhooks.signing import headers
from folio_worker_docs.webhooks import send, store

log = get_logger(__name__)

for _name in physical_queue_names(Queue.WEBHOOKS):
    dramatiq.get_broker().declare_queue(_name)


def _event_id(event_id: uuid.UUID) -> str:
    return "evt_" + event_id.hex


@dramatiq.actor(
    actor_name=DeliverWebhookV1.actor_name,
    queue_name=Queue.WEBHOOKS.value,
    max_retries=5,
    min_backoff=1_000,
    max_backoff=60_000,
    time_limit=180_000,
)
async def deliver_webhook(payload: dict[str, Any]) -> None:
    msg = decode_as(payload, DeliverWebhookV1)
    res = resources()
    settings = res.settings.webhooks
    delivery_id = uuid.UUID(msg.delivery_id)
    engine = res.engine
    async with engine.connect() as conn:
        claimed = await store.claim(conn, delivery_id, msg.attempts)
        if claimed is None:
            return  # made already (a duplicate message), or no longer pending
        if not claimed.enabled:
            await store.give_up(conn, delivery_id, "the endpoint is disabled")
            return
    body = msgspec.json.encode(claimed.payload)
    event_id = str(claimed.payload.get("id") or _event_id(claimed.event_id))
    timestamp = int(time.time())
    result = await send.attempt(
        claimed.url,
        body,
        headers(claimed.secret, event_id, timestamp, body),
        timeout_ms=settings.timeout_ms,
        capture_bytes=settings.response_capture_bytes,
        allow_private=settings.allow_private_addresses,
    )
    metrics.WEBHOOK_DELIVERIES.labels(outcome=result.outcome).inc()
    metrics.WEBHOOK_LATENCY.observe(result.latency_ms / 1000)
    async with engine.connect() as conn:
        disabled = await store.record(conn, settings, delivery_id, claimed, result)
    log.info(
        "webhook attempt",
        delivery_id=str(delivery_id),
        endpoint_id=str(claimed.endpoint_id),
        attempt=claimed.attempt,
        outcome=result.outcome,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        endpoint_disabled=disabled,
    )
