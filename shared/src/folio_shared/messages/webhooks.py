"""Webhook messages: one attempt to deliver one event to one endpoint."""

from __future__ import annotations

from typing import Annotated

import msgspec

from folio_shared.messages.base import Id, Message
from folio_shared.messages.queues import Queue

#: How many attempts the delivery had when this one was sent (0: none yet).
AttemptsSoFar = Annotated[int, msgspec.Meta(ge=0)]


class DeliverWebhookV1(Message, frozen=True, tag="webhooks.deliver.v1"):
    """Make the next attempt of a webhook delivery (actor ``webhooks.deliver``).

    Sent by the relay (:mod:`folio_shared.webhooks.relay`) for each
    delivery that is due; the delivery row holds the event, the endpoint
    and the outcome of every attempt.

    - ``delivery_id``: the ``webhook_deliveries`` row.
    - ``tenant_id``: its tenant (logs, row-level scope).
    - ``attempts``: the attempts the delivery had when this message was sent:
      the attempt runs only if it still has that many, so a message sent
      twice makes one attempt.
    """

    actor_name = "webhooks.deliver"
    queue = Queue.WEBHOOKS

    delivery_id: Id
    tenant_id: Id
    attempts: AttemptsSoFar = 0
