"""What the scheduler sends, and when.

One entry per maintenance task (:data:`folio_shared.maintenance.registry.TASKS`),
with its cron spec: ``FOLIO_SCHEDULER_<TASK>_CRON`` when the settings have
it, else the task's default (UTC):

==========================  ================  ====================
task                        default           period
==========================  ================  ====================
expire_uploads              ``0 * * * *``     hourly
find_orphans                ``15 4 * * *``    daily
purge_job_history           ``30 3 * * *``    daily
reap_stuck_jobs             ``* * * * *``     every minute
relay_outbox                ``* * * * *``     every minute
apply_document_retention    ``45 4 * * *``    daily
reembed_chunks              ``*/10 * * * *``  every 10 minutes
==========================  ================  ====================

The scheduler never does the work: on each tick it creates the task's job
(through the outbox), and worker-docs' maintenance actor runs it.
"""

from __future__ import annotations

from typing import NamedTuple

from folio_shared.maintenance.registry import TASKS, Task, cron_of
from folio_shared.settings import SchedulerSettings


class Entry(NamedTuple):
    """One periodic task: what it is and its cron spec."""

    task: Task
    cron: str


def entries(settings: SchedulerSettings) -> list[Entry]:
    """The schedule in effect, one entry per maintenance task."""
    return [Entry(task, cron_of(settings, task)) for task in TASKS]
