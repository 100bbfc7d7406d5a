"""Periodic jobs of your own kinds, declared in configuration.

``FOLIO_SCHEDULER_JOBS`` is a JSON list; each entry sends one job of a
kind on a cron (UTC)::

    [{"name": "nightly-report", "cron": "0 2 * * *", "kind": "reports.build",
      "payload": {"period": "day"}, "tenant_id": "…", "priority": "normal"}]

- ``kind`` (required): the job kind; its payload version, queue and
  retries are the ones its workers recorded in ``job_kinds``, so a tick
  before any worker of the kind has started is not sent (and is caught up
  once one has);
- ``cron`` (required): when, in cron syntax, UTC;
- ``payload``: the job's payload (default ``{}``);
- ``name``: the schedule's name (default: the kind); names are unique;
- ``tenant_id``: the tenant the jobs belong to (default none);
- ``priority``: ``low``, ``normal`` (default), ``high`` or ``critical``.

Each tick is sent once, as maintenance ticks are (a Redis claim per tick,
:mod:`folio_scheduler.ticks`), and more: the job's id is derived from the
schedule and the tick, so even a tick whose claim Redis lost (a flush, a
failover) cannot create a second job. Unlike maintenance tasks, a schedule
that never sent a tick is not owed a run at start: a new schedule first
runs at its first tick. A tick missed while the scheduler was down is
caught up once (the latest one), at start.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import msgspec

from folio_scheduler.ticks import Periodic
from folio_shared.errors import ConfigurationError
from folio_shared.messages import Priority

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


class ScheduledJob(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One entry of ``FOLIO_SCHEDULER_JOBS`` (see the module doc)."""

    kind: str
    cron: str
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    name: str = ""
    tenant_id: uuid.UUID | None = None
    priority: Priority = Priority.NORMAL

    @property
    def schedule_name(self) -> str:
        return self.name or self.kind


def parse_jobs(text: str) -> list[ScheduledJob]:
    """The scheduled jobs of ``FOLIO_SCHEDULER_JOBS``; a readable
    :class:`~folio_shared.errors.ConfigurationError` when it is invalid."""
    if not text.strip():
        return []
    try:
        jobs = msgspec.json.decode(text, type=list[ScheduledJob])
    except msgspec.DecodeError as e:
        raise ConfigurationError(f"FOLIO_SCHEDULER_JOBS is invalid: {e}") from e
    seen: set[str] = set()
    for job in jobs:
        name = job.schedule_name
        if not _NAME.match(name):
            raise ConfigurationError(
                f"FOLIO_SCHEDULER_JOBS: invalid schedule name {name!r}"
                " (lower-case letters, digits, '.', '_', '-')",
                schedule=name,
            )
        if name in seen:
            raise ConfigurationError(
                f"FOLIO_SCHEDULER_JOBS: schedule {name!r} appears twice", schedule=name
            )
        seen.add(name)
    return jobs


def tick_job_id(namespace: str, schedule: str, tick: str) -> uuid.UUID:
    """The id of the job a schedule's tick creates: the same for every
    replica and every retry of that tick."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"folio:{namespace}:schedule:{schedule}:{tick}")


class PeriodicJob(Periodic):
    """A scheduled job's schedule: each tick creates one job of its kind.

    - ``job``: the entry of ``FOLIO_SCHEDULER_JOBS``; the other arguments
      are :class:`~folio_scheduler.ticks.Periodic`'s.
    """

    first_run_owed = False

    def __init__(self, job: ScheduledJob, **kwargs: Any) -> None:
        self.job = job
        name = f"job.{job.schedule_name}"
        super().__init__(name, actor_name=f"schedule.{name}", **kwargs)

    def create(self, tick: str) -> uuid.UUID | None:
        job = self.job
        return self.sender.send_kind(
            tick_job_id(self.namespace, job.schedule_name, tick),
            job.kind,
            job.payload,
            tenant_id=job.tenant_id,
            priority=job.priority,
            meta={"schedule": job.schedule_name, "tick": tick},
        )
