"""The webhook relay: a delivery message for each delivery that is due.

Deliveries are written by the database in the transaction that commits
what they report (migration 0013), so no process knows it has one to send;
workers of the ``webhooks`` queue look for due ones every
``FOLIO_WEBHOOKS_RELAY_INTERVAL_MS`` (:func:`relay`): rows are locked
``FOR UPDATE SKIP LOCKED`` and marked sent in the same transaction, so two
relays never send the same attempt. A retry is a row made due again
(``next_attempt_at``) by the attempt that failed, and a message lost
(Redis flushed, a worker killed mid-attempt) is sent again once its
``sent_at`` is older than :data:`LOST_AFTER_S`; the attempt count in the
message keeps a duplicate from making a second attempt.
"""

from __future__ import annotations

import asyncio
import uuid

import dramatiq
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from folio_shared.logging import get_logger
from folio_shared.messages import DeliverWebhookV1, route

log = get_logger(__name__)

#: A delivery sent this long ago and still pending lost its message (s).
LOST_AFTER_S = 300.0

_DUE = sa.text(
    """
    SELECT id, tenant_id, attempts FROM webhook_deliveries
    WHERE status = 'pending' AND next_attempt_at <= now()
      AND (sent_at IS NULL
           OR sent_at < now() - make_interval(secs => CAST(:lost_s AS double precision)))
    ORDER BY next_attempt_at LIMIT :batch FOR UPDATE SKIP LOCKED
    """
)
_MARK_SENT = sa.text(
    "UPDATE webhook_deliveries SET sent_at = now(), updated_at = now() WHERE id = :id"
)


def message(delivery_id: uuid.UUID, tenant_id: uuid.UUID, attempts: int) -> dramatiq.Message[None]:
    """The Dramatiq message of one attempt."""
    msg = DeliverWebhookV1(
        delivery_id=str(delivery_id), tenant_id=str(tenant_id), attempts=attempts
    )
    r = route(msg)
    return dramatiq.Message(
        queue_name=r.queue_name,
        actor_name=r.actor_name,
        args=(r.payload,),
        kwargs={},
        options={},
    )


def _enqueue(broker: dramatiq.Broker, msg: dramatiq.Message[None]) -> None:
    if msg.queue_name not in broker.get_declared_queues():
        broker.declare_queue(msg.queue_name)
    broker.enqueue(msg)


async def relay(
    conn: AsyncConnection,
    broker: dramatiq.Broker,
    *,
    batch: int = 200,
    lost_after_s: float = LOST_AFTER_S,
) -> int:
    """Send the due deliveries' messages (one transaction); returns how
    many went. Stops at the first send that fails (the broker is down:
    the rows stay due for the next run)."""
    rows = (await conn.execute(_DUE, {"lost_s": lost_after_s, "batch": batch})).all()
    sent = 0
    for row in rows:
        try:
            await asyncio.to_thread(_enqueue, broker, message(row.id, row.tenant_id, row.attempts))
        except Exception as e:
            log.warning("webhook relay could not send", delivery_id=str(row.id), error=repr(e))
            break
        await conn.execute(_MARK_SENT, {"id": row.id})
        sent += 1
    await conn.commit()
    return sent
