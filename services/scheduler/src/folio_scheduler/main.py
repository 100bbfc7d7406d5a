"""The scheduler: the module periodiq imports.

It only wires things: logging, the broker, a Redis client for tick claims,
and one :class:`~folio_scheduler.ticks.PeriodicTask` per schedule entry.
"""

from __future__ import annotations

import redis
from periodiq import cron

from folio_scheduler.schedule import entries
from folio_scheduler.ticks import PeriodicTask
from folio_shared.broker import setup_broker
from folio_shared.logging import configure_logging
from folio_shared.settings import get_settings

settings = get_settings()
configure_logging(settings, service="scheduler")
broker = setup_broker(settings)
_client = redis.Redis.from_url(settings.redis.url)

tasks = [
    PeriodicTask(
        entry.message_type,
        broker=broker,
        client=_client,
        cron=cron(entry.cron),
        lock_ttl_s=settings.scheduler.tick_lock_ttl_s,
    )
    for entry in entries(settings.scheduler)
]
