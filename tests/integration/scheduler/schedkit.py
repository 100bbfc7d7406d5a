"""Scheduler replicas for the tests: the clients one ``folio-scheduler``
process holds (broker, Redis, job sender) and its periodic tasks, driven on
the path periodiq calls (``send_with_options``)."""

from __future__ import annotations

import collections
import os
from collections.abc import Callable
from dataclasses import dataclass

import dramatiq
import redis
import sqlalchemy as sa
from periodiq import cron
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_scheduler.schedule import entries
from folio_scheduler.sender import JobSender
from folio_scheduler.ticks import PeriodicTask
from folio_shared.broker import create_broker
from folio_shared.db.models import Job
from folio_shared.maintenance.registry import TASKS
from folio_shared.settings import FolioSettings

EVERY_MINUTE = "* * * * *"


@dataclass
class Replica:
    broker: dramatiq.Broker
    client: redis.Redis
    sender: JobSender
    tasks: list[PeriodicTask]

    def close(self) -> None:
        self.sender.close()
        self.client.close()
        self.broker.close()


def replica(
    settings: FolioSettings,
    spec: str | None = EVERY_MINUTE,
    *,
    on_missed: Callable[[], None] | None = None,
) -> Replica:
    """One replica; ``spec`` replaces every task's cron (``None``: the defaults)."""
    broker = create_broker(settings)
    client = redis.Redis.from_url(settings.redis.url, socket_timeout=5, socket_connect_timeout=5)
    sender = JobSender(settings, broker)
    tasks = [
        PeriodicTask(
            entry.task,
            broker=broker,
            client=client,
            sender=sender,
            cron=cron(spec or entry.cron),
            namespace=settings.broker.namespace,
            lock_ttl_s=settings.scheduler.tick_lock_ttl_s,
            on_missed=on_missed,
        )
        for entry in entries(settings.scheduler)
    ]
    return Replica(broker, client, sender, tasks)


def scheduler_env(settings: FolioSettings, **extra: str) -> dict[str, str]:
    """The environment of a ``folio-scheduler`` process for ``settings``
    (and ``extra`` variables), without the caller's other ``FOLIO_*``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    env.update(
        FOLIO_ENV="test",
        FOLIO_DATABASE_URL=settings.database.url,
        FOLIO_REDIS_URL=settings.redis.url,
        FOLIO_BROKER_NAMESPACE=settings.broker.namespace,
        FOLIO_LOG_FORMAT="console",
        FOLIO_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


async def take_jobs_by_task(engine: AsyncEngine) -> collections.Counter[str]:
    """How many maintenance jobs each task has; the jobs are then deleted."""
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(Job.actor_name))).scalars().all()
        await conn.execute(sa.delete(Job))
        await conn.commit()
    names = {t.message_type.actor_name: t.name for t in TASKS}
    return collections.Counter(names[r] for r in rows)
