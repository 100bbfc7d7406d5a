"""Sending one periodic message per tick, whatever the number of replicas.

periodiq calls ``send_with_options(scheduled_at=...)`` on each periodic
actor at its tick. :class:`PeriodicTask` turns that call into the typed
maintenance message and sends it only if this replica is the first to claim
the tick: a Redis ``SET NX`` keyed by task and tick. A second replica (a
rolling update, a mistake) finds the key and sends nothing.

The worker side does not install periodiq's middleware, which silently drops
periodic messages older than its ``skip_delay``: a backlogged or retried
maintenance run still runs.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import redis

from folio_shared.broker import send_message
from folio_shared.logging import get_logger
from folio_shared.messages import MaintenanceMessage

log = get_logger(__name__)


def tick_key(actor_name: str, tick: str) -> str:
    """Redis key that marks ``tick`` of ``actor_name`` as sent."""
    return f"folio:scheduler:tick:{actor_name}:{tick}"


class PeriodicTask(dramatiq.Actor[[], None]):
    """A periodiq actor whose tick sends a maintenance message, once.

    - ``message_type``: the maintenance message sent on each tick.
    - ``client``: Redis client holding the tick claims.
    - ``lock_ttl_s``: how long a claimed tick is remembered (seconds).
    """

    def __init__(
        self,
        message_type: type[MaintenanceMessage],
        *,
        broker: dramatiq.Broker,
        client: redis.Redis,
        cron: Any,
        lock_ttl_s: int,
    ) -> None:
        self.message_type = message_type
        self.client = client
        self.lock_ttl_s = lock_ttl_s
        super().__init__(
            self._never_run,
            broker=broker,
            actor_name=f"schedule.{message_type.actor_name}",
            queue_name="scheduler",
            priority=0,
            options={"periodic": cron},
        )

    @staticmethod
    def _never_run() -> None:  # pragma: no cover - the scheduler never consumes
        raise RuntimeError("scheduler actors only send messages")

    def send_with_options(self, **options: Any) -> dramatiq.Message[None]:
        tick = str(options.get("scheduled_at", ""))
        name = self.message_type.actor_name
        claimed = self.client.set(tick_key(name, tick), "1", nx=True, ex=self.lock_ttl_s)
        if not claimed:
            log.info("tick already sent by another scheduler", task=name, tick=tick)
            return dramatiq.Message(
                queue_name=self.queue_name,
                actor_name=self.actor_name,
                args=(),
                kwargs={},
                options={},
            )
        sent = send_message(self.broker, self.message_type(tick=tick))
        log.info("tick sent", task=name, tick=tick, message_id=sent.message_id)
        return dramatiq.Message(
            queue_name=sent.queue_name,
            actor_name=sent.actor_name,
            args=sent.args,
            kwargs=sent.kwargs,
            options=sent.options,
            message_id=sent.message_id,
        )
