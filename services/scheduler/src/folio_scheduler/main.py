"""The scheduler: the module periodiq imports.

It only wires things: logging, the broker, a Redis client for tick claims,
the job sender, one :class:`~folio_scheduler.ticks.PeriodicTask` per
schedule entry, and the catch-up of ticks missed while no scheduler ran or
while Redis or PostgreSQL was down (:mod:`folio_scheduler.recovery`).
Cron specs are read in UTC, whatever the machine's time zone.
"""

from __future__ import annotations

import atexit

import pendulum
import redis
from periodiq import cron

from folio_scheduler.recovery import CatchUpKeeper
from folio_scheduler.schedule import entries
from folio_scheduler.sender import JobSender
from folio_scheduler.ticks import PeriodicTask
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

tasks = [
    PeriodicTask(
        entry.task,
        broker=broker,
        client=_client,
        sender=_sender,
        cron=cron(entry.cron),
        namespace=settings.broker.namespace,
        lock_ttl_s=settings.scheduler.tick_lock_ttl_s,
        on_missed=_keeper.owe,
    )
    for entry in entries(settings.scheduler)
]

_keeper.attach(tasks)
get_logger(__name__).info("scheduler started")
_keeper.try_now()  # the ticks missed while no scheduler ran
_keeper.start()
