"""The scheduler: the module periodiq imports.

It only wires things: logging, the broker, a Redis client for tick claims,
the job sender, one :class:`~folio_scheduler.ticks.PeriodicTask` per
maintenance task and one :class:`~folio_scheduler.userjobs.PeriodicJob` per
configured job of a user's kind, and the catch-up of ticks missed while no
scheduler ran or while Redis or PostgreSQL was down
(:mod:`folio_scheduler.recovery`).
Cron specs are read in UTC, whatever the machine's time zone.
"""

from __future__ import annotations

import atexit
from typing import Any

import pendulum
import redis
from periodiq import cron

from folio_scheduler.recovery import CatchUpKeeper
from folio_scheduler.schedule import entries
from folio_scheduler.sender import JobSender
from folio_scheduler.ticks import Periodic, PeriodicTask
from folio_scheduler.userjobs import PeriodicJob, parse_jobs
from folio_shared.broker import setup_broker
from folio_shared.logging import configure_logging, get_logger
from folio_shared.settings import get_settings
from folio_shared.telemetry import configure_tracing

_REDIS_TIMEOUT_S = 5.0

settings = get_settings()
configure_logging(settings, service="scheduler")
configure_tracing(settings, service_name="scheduler")
pendulum.set_local_timezone(pendulum.UTC)  # periodiq reads crons in local time
broker = setup_broker(settings)
# Timeouts: a Redis that hangs (not only one that refuses) must not hold
# the scheduler's only thread.
_client = redis.Redis.from_url(
    settings.redis.url, socket_timeout=_REDIS_TIMEOUT_S, socket_connect_timeout=_REDIS_TIMEOUT_S
)
_sender = JobSender(settings, broker)
atexit.register(_sender.close)
_keeper = CatchUpKeeper(retry_s=settings.scheduler.catch_up_retry_s)


def _clients() -> dict[str, Any]:
    """What every schedule of this process shares."""
    return {
        "broker": broker,
        "client": _client,
        "sender": _sender,
        "namespace": settings.broker.namespace,
        "lock_ttl_s": settings.scheduler.tick_lock_ttl_s,
        "on_missed": _keeper.owe,
    }


tasks: list[Periodic] = [
    PeriodicTask(entry.task, cron=cron(entry.cron), **_clients())
    for entry in entries(settings.scheduler)
]
# Periodic jobs of users' own kinds (FOLIO_SCHEDULER_JOBS).
tasks += [
    PeriodicJob(job, cron=cron(job.cron), **_clients())
    for job in parse_jobs(settings.scheduler.jobs)
]

_keeper.attach(tasks)
get_logger(__name__).info("scheduler started")
_keeper.try_now()  # the ticks missed while no scheduler ran
_keeper.start()
