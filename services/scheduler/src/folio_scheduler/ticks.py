"""Sending one maintenance job per tick, whatever the number of replicas.

periodiq calls ``send_with_options(scheduled_at=...)`` on each periodic
actor at its tick. :class:`PeriodicTask` turns that call into the task's job
(through the outbox: a job row, then its message), and only if this replica
is the first to claim the tick: a Redis ``SET NX`` on a key naming the task
and the tick (:func:`~folio_shared.maintenance.registry.tick_key`). A second
replica (a rolling update, a mistake) finds the key and sends nothing. Ticks
are named in UTC to the minute, so replicas in different time zones, or
whose clocks wake a few hundred milliseconds apart, name a tick the same way.

When the job cannot be created (PostgreSQL down) after a few tries, the
claim is released and the tick is not recorded as sent, so the next start
of a scheduler catches it up (:mod:`folio_scheduler.catchup`).

The worker side does not install periodiq's middleware, which silently drops
periodic messages older than its ``skip_delay``: a backlogged or retried
maintenance run still runs.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import dramatiq
import redis

from folio_scheduler.sender import JobSender
from folio_shared.logging import get_logger
from folio_shared.maintenance.registry import Task, last_tick_key, normalise_tick, tick_key

log = get_logger(__name__)

#: Attempts at creating a tick's job before giving it up to the next start.
SEND_ATTEMPTS = 3

# Set the key to the tick unless it already holds a later one.
_SET_LATEST = """
local current = redis.call('GET', KEYS[1])
if (not current) or current < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

# Delete the key only if it still holds our claim.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class PeriodicTask(dramatiq.Actor[[], None]):
    """A periodiq actor whose tick creates one maintenance job, once.

    - ``task``: the maintenance task (its message type is what is sent).
    - ``client``: Redis client holding the tick claims and last ticks.
    - ``sender``: creates the jobs (:class:`~folio_scheduler.sender.JobSender`).
    - ``cron``: periodiq cron spec (``periodiq.cron("* * * * *")``).
    - ``namespace``: key namespace, the broker's (``FOLIO_BROKER_NAMESPACE``).
    - ``lock_ttl_s``: how long a claimed tick is remembered (seconds); longer
      than any gap between two replicas' wake-ups.
    """

    def __init__(
        self,
        task: Task,
        *,
        broker: dramatiq.Broker,
        client: redis.Redis,
        sender: JobSender,
        cron: Any,
        namespace: str,
        lock_ttl_s: int,
    ) -> None:
        self.task = task
        self.client = client
        self.sender = sender
        self.namespace = namespace
        self.lock_ttl_s = lock_ttl_s
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        super().__init__(
            self._never_run,
            broker=broker,
            actor_name=f"schedule.{task.message_type.actor_name}",
            queue_name="scheduler",
            priority=0,
            options={"periodic": cron},
        )

    @staticmethod
    def _never_run() -> None:  # pragma: no cover - the scheduler never consumes
        raise RuntimeError("scheduler actors only send messages")

    def send_with_options(self, **options: Any) -> dramatiq.Message[None]:
        """periodiq's call at a tick: send the tick's job (once)."""
        scheduled_at = options.get("scheduled_at") or datetime.now(UTC)
        job_id = self.send_tick(scheduled_at)
        return dramatiq.Message(
            queue_name=self.queue_name,
            actor_name=self.actor_name,
            args=(),
            kwargs={},
            options={"job_id": str(job_id)} if job_id else {},
        )

    def missed(self, due: datetime) -> bool:
        """Whether the tick due at ``due`` was never sent (nor a later one)."""
        last = self.client.get(last_tick_key(self.namespace, self.task.name))
        if last is None:
            return True
        last_tick = last.decode() if isinstance(last, bytes) else str(last)
        return last_tick < normalise_tick(due)

    def send_tick(self, when: str | datetime, *, catch_up: bool = False) -> uuid.UUID | None:
        """Claim tick ``when`` and create its job; returns the job id, or
        ``None`` when another replica sent it (or it could not be sent)."""
        tick = normalise_tick(when)
        name = self.task.name
        key = tick_key(self.namespace, name, tick)
        if not self.client.set(key, self.replica, nx=True, ex=self.lock_ttl_s):
            log.info("tick already sent by another scheduler", task=name, tick=tick)
            return None
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                job_id = self.sender.send(self.task.message_type(tick=tick))
                break
            except Exception as e:
                log.warning(
                    "tick job not created", task=name, tick=tick, attempt=attempt, error=repr(e)
                )
                if attempt == SEND_ATTEMPTS:
                    self.client.eval(_RELEASE, 1, key, self.replica)
                    log.error(
                        "tick given up; the next scheduler start catches it up",
                        task=name,
                        tick=tick,
                    )
                    return None
                time.sleep(attempt)
        self.client.eval(_SET_LATEST, 1, last_tick_key(self.namespace, name), tick)
        log.info("tick sent", task=name, tick=tick, job_id=str(job_id), catch_up=catch_up)
        return job_id
