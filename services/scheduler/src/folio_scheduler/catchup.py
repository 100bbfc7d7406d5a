"""Ticks missed while no scheduler ran, and when a cron was last due.

periodiq only ever sends the ticks it is awake for: a tick that fell while
the scheduler was down (a deploy, a crash) is never sent. At start the
scheduler compares, for each task, the last tick it sent (kept in Redis,
:func:`~folio_shared.maintenance.registry.last_tick_key`) with the cron's
most recent due time, and sends one catch-up run for that due time when it
is later. A task that has no last tick yet (a new deployment, a flushed
Redis) counts as overdue: maintenance runs are idempotent, so one run too
many is harmless, one too few is not. The catch-up run claims the same
tick key as a regular send, so two replicas starting together send it once.

The same catch-up sends the ticks missed during a Redis or PostgreSQL
outage, once both are back (:mod:`folio_scheduler.recovery`): one run per
task, for its latest due tick. Maintenance runs are sweeps of the current
state, so one run does the work of every tick it stands for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pendulum

from folio_scheduler.ticks import SEND_ATTEMPTS, Periodic, TickNotSent

#: How far back a cron's last due time is looked for.
MAX_LOOKBACK = timedelta(days=400)


def previous_due(spec: Any, now: datetime) -> datetime | None:
    """The latest time at or before ``now`` (to the minute) when the periodiq
    cron ``spec`` was due; ``None`` when it was not due in
    :data:`MAX_LOOKBACK`."""
    current = pendulum.instance(now).in_tz("UTC")
    window = timedelta(minutes=1)
    while window <= MAX_LOOKBACK * 2:
        due = spec.next_valid_date(current - window)
        if due <= current:
            while True:
                following = spec.next_valid_date(due)
                if following > current:
                    return datetime.fromisoformat(due.isoformat())
                due = following
        window *= 2
    return None


def catch_up(
    tasks: Sequence[Periodic], now: datetime, *, attempts: int = SEND_ATTEMPTS
) -> list[str]:
    """Send a catch-up run for each task whose last due tick was not sent;
    returns the names of the tasks sent (see the module docstring).

    Every task is tried; when one could not be sent (Redis or PostgreSQL
    unreachable, ``attempts`` tries each), raises :class:`TickNotSent`
    naming them after the others were sent.
    """
    sent: list[str] = []
    failed: list[str] = []
    for task in tasks:
        due = previous_due(task.options["periodic"], now)
        try:
            if due is None or not task.missed(due):
                continue
            if task.send_tick(due, catch_up=True, attempts=attempts) is not None:
                sent.append(task.name)
        except TickNotSent:
            failed.append(task.name)
    if failed:
        raise TickNotSent("missed ticks not sent yet", tasks=failed, sent=sent)
    return sent
