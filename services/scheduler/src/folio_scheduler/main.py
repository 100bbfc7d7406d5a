"""The scheduler: the module periodiq imports.

It only wires things: logging, the broker, a Redis client for tick claims,
the job sender, one :class:`~folio_scheduler.ticks.PeriodicTask` per
schedule entry, and the catch-up of ticks missed while no scheduler ran.
Cron specs are read in UTC, whatever the machine's time zone.
"""

from __future__ import annotations

import atexit
from datetime import UTC, datetime

import pendulum
import redis
from periodiq import cron

from folio_scheduler.catchup import catch_up
from folio_scheduler.schedule import entries
from folio_scheduler.sender import JobSender
from folio_scheduler.ticks import PeriodicTask
from folio_shared.broker import setup_broker
from folio_shared.logging import configure_logging, get_logger
from folio_shared.settings import get_settings
from folio_shared.telemetry import configure_tracing

settings = get_settings()
configure_logging(settings, service="scheduler")
configure_tracing(settings, service_name="scheduler")
pendulum.set_local_timezone(pendulum.UTC)  # periodiq reads crons in local time
broker = setup_broker(settings)
_client = redis.Redis.from_url(settings.redis.url)
_sender = JobSender(settings, broker)
atexit.register(_sender.close)

tasks = [
    PeriodicTask(
        entry.task,
        broker=broker,
        client=_client,
        sender=_sender,
        cron=cron(entry.cron),
        namespace=settings.broker.namespace,
        lock_ttl_s=settings.scheduler.tick_lock_ttl_s,
    )
    for entry in entries(settings.scheduler)
]

get_logger(__name__).info("scheduler started", caught_up=catch_up(tasks, datetime.now(UTC)))
