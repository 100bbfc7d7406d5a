"""Sending one maintenance job per tick, whatever the number of replicas.

periodiq calls ``send_with_options(scheduled_at=...)`` on each periodic
actor at its tick. :class:`PeriodicTask` turns that call into the task's job
(through the outbox: a job row, then its message), and only if this replica
is the first to claim the tick: a Redis ``SET NX`` on a key naming the task
and the tick (:func:`~folio_shared.maintenance.registry.tick_key`). A second
replica (a rolling update, a mistake) finds the key and sends nothing. Ticks
are named in UTC to the minute, so replicas in different time zones, or
whose clocks wake a few hundred milliseconds apart, name a tick the same way.

When the tick cannot be claimed (Redis down) or its job cannot be created
(PostgreSQL down, after a few tries), the claim is released and the tick is
not recorded as sent: :meth:`PeriodicTask.send_tick` raises
:class:`TickNotSent`, periodiq's call logs it and tells the scheduler's
:class:`~folio_scheduler.recovery.CatchUpKeeper`, which sends the missed
tick once both are back. The scheduler never exits on an outage.

The worker side does not install periodiq's middleware, which silently drops
periodic messages older than its ``skip_delay``: a backlogged or retried
maintenance run still runs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import dramatiq
import redis

from folio_scheduler.sender import JobSender
from folio_shared.errors import FolioError
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


class TickNotSent(FolioError):
    """A tick could not be claimed or its job not created (Redis or
    PostgreSQL unreachable); it is left to the catch-up."""

    code = "tick_not_sent"
    retryable = True


class Periodic(dramatiq.Actor[[], None]):
    """A periodiq actor whose tick creates one job, once: the base of
    :class:`PeriodicTask` (maintenance) and
    :class:`~folio_scheduler.userjobs.PeriodicJob` (a job kind's schedule),
    which say what a tick sends (:meth:`create`).

    - ``name``: the schedule's name, in its tick keys.
    - ``actor_name``: the periodiq actor's name (never consumed).
    - ``client``: Redis client holding the tick claims and last ticks.
    - ``sender``: creates the jobs (:class:`~folio_scheduler.sender.JobSender`).
    - ``cron``: periodiq cron spec (``periodiq.cron("* * * * *")``).
    - ``namespace``: key namespace, the broker's (``FOLIO_BROKER_NAMESPACE``).
    - ``lock_ttl_s``: how long a claimed tick is remembered (seconds); longer
      than any gap between two replicas' wake-ups.
    - ``on_missed``: called (no arguments) when periodiq's tick could not be
      sent; the scheduler passes its catch-up keeper's ``owe`` (default:
      nothing, the next start catches up).
    """

    #: Whether a schedule that never sent a tick (a new deployment, a
    #: flushed Redis) is owed a catch-up run at start.
    first_run_owed = True

    def __init__(
        self,
        name: str,
        *,
        actor_name: str,
        broker: dramatiq.Broker,
        client: redis.Redis,
        sender: JobSender,
        cron: Any,
        namespace: str,
        lock_ttl_s: int,
        on_missed: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.on_missed = on_missed
        self.client = client
        self.sender = sender
        self.namespace = namespace
        self.lock_ttl_s = lock_ttl_s
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        super().__init__(
            self._never_run,
            broker=broker,
            actor_name=actor_name,
            queue_name="scheduler",
            priority=0,
            options={"periodic": cron},
        )

    def create(self, tick: str) -> uuid.UUID | None:
        """Create the job of ``tick``; its id (``None``: it existed already).
        Raises when it could not be created."""
        raise NotImplementedError

    @staticmethod
    def _never_run() -> None:  # pragma: no cover - the scheduler never consumes
        raise RuntimeError("scheduler actors only send messages")

    def send_with_options(self, **options: Any) -> dramatiq.Message[None]:
        """periodiq's call at a tick: send the tick's job (once)."""
        scheduled_at = options.get("scheduled_at") or datetime.now(UTC)
        try:
            job_id = self.send_tick(scheduled_at)
        except TickNotSent as e:
            log.warning("tick missed; sent when Redis and PostgreSQL are back", **e.details)
            job_id = None
            if self.on_missed is not None:
                self.on_missed()
        return dramatiq.Message(
            queue_name=self.queue_name,
            actor_name=self.actor_name,
            args=(),
            kwargs={},
            options={"job_id": str(job_id)} if job_id else {},
        )

    def missed(self, due: datetime) -> bool:
        """Whether the tick due at ``due`` was never sent (nor a later one).
        Raises :class:`TickNotSent` when Redis cannot be read."""
        try:
            last = self.client.get(last_tick_key(self.namespace, self.name))
        except redis.RedisError as e:
            raise TickNotSent("Redis unreachable", task=self.name, error=repr(e)) from e
        if last is None:
            return self.first_run_owed
        last_tick = last.decode() if isinstance(last, bytes) else str(last)
        return last_tick < normalise_tick(due)

    def send_tick(
        self, when: str | datetime, *, catch_up: bool = False, attempts: int = SEND_ATTEMPTS
    ) -> uuid.UUID | None:
        """Claim tick ``when`` and create its job; returns the job id, or
        ``None`` when another replica sent it. Raises :class:`TickNotSent`
        when Redis or PostgreSQL (``attempts`` tries) is unreachable."""
        tick = normalise_tick(when)
        name = self.name
        key = tick_key(self.namespace, name, tick)
        try:
            claimed = self.client.set(key, self.replica, nx=True, ex=self.lock_ttl_s)
        except redis.RedisError as e:
            raise TickNotSent("Redis unreachable", task=name, tick=tick, error=repr(e)) from e
        if not claimed:
            log.info("tick already sent by another scheduler", task=name, tick=tick)
            return None
        job_id = self._create_job(key, tick, attempts)
        try:
            self.client.eval(_SET_LATEST, 1, last_tick_key(self.namespace, name), tick)
        except redis.RedisError as e:
            # The job exists and its claim holds: a catch-up finds the claim
            # and sends nothing twice.
            log.warning("last tick not recorded", task=name, tick=tick, error=repr(e))
        if job_id is None:
            log.info("tick's job existed already", task=name, tick=tick)
        else:
            log.info("tick sent", task=name, tick=tick, job_id=str(job_id), catch_up=catch_up)
        return job_id

    def _create_job(self, key: str, tick: str, attempts: int) -> uuid.UUID | None:
        name = self.name
        attempt = 1
        while True:
            try:
                return self.create(tick)
            except Exception as e:
                log.warning(
                    "tick job not created", task=name, tick=tick, attempt=attempt, error=repr(e)
                )
                if attempt >= attempts:
                    with contextlib.suppress(redis.RedisError):
                        self.client.eval(_RELEASE, 1, key, self.replica)
                    raise TickNotSent(
                        "PostgreSQL unreachable", task=name, tick=tick, error=repr(e)
                    ) from e
            time.sleep(attempt)
            attempt += 1


class PeriodicTask(Periodic):
    """A maintenance task's schedule: each tick creates its message's job.

    - ``task``: the maintenance task (its message type is what is sent);
      the other arguments are :class:`Periodic`'s.
    """

    def __init__(self, task: Task, **kwargs: Any) -> None:
        self.task = task
        super().__init__(task.name, actor_name=f"schedule.{task.message_type.actor_name}", **kwargs)

    def create(self, tick: str) -> uuid.UUID | None:
        return self.sender.send(self.task.message_type(tick=tick))
