"""The maintenance tasks, their default schedules and the scheduler's Redis keys.

One :class:`Task` per maintenance message type. The scheduler sends each on
its cron (``FOLIO_SCHEDULER_<TASK>_CRON``, UTC; the default is the task's
``default_cron``), the worker runs it as a job, and ``folio maintenance
<task>`` runs it inline. The Redis keys the scheduler writes are named here
so the CLI can show the last tick each task was sent for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from folio_shared.errors import InvalidInput
from folio_shared.messages import (
    ApplyDocumentRetentionV1,
    ExpireUploadsV1,
    FindOrphansV1,
    MaintenanceMessage,
    PurgeJobHistoryV1,
    ReapStuckJobsV1,
    ReembedChunksV1,
    RelayOutboxV1,
)


@dataclass(frozen=True)
class Task:
    """One maintenance task.

    - ``name``: snake_case name (``expire_uploads``); the CLI command is the
      same with dashes, the setting ``FOLIO_SCHEDULER_<NAME>_CRON``.
    - ``message_type``: the message the scheduler sends for it.
    - ``default_cron``: when it runs unless configured (cron syntax, UTC).
    - ``description``: one line, for ``folio maintenance list``.
    """

    name: str
    message_type: type[MaintenanceMessage]
    default_cron: str
    description: str

    @property
    def command(self) -> str:
        return self.name.replace("_", "-")

    @property
    def setting(self) -> str:
        """Attribute of :class:`~folio_shared.settings.SchedulerSettings`."""
        return f"{self.name}_cron"


TASKS: tuple[Task, ...] = (
    Task(
        "expire_uploads",
        ExpireUploadsV1,
        "0 * * * *",
        "delete presigned uploads never completed (object and row)",
    ),
    Task(
        "find_orphans",
        FindOrphansV1,
        "15 4 * * *",
        "delete stored objects no document or job refers to; flag documents whose object is gone",
    ),
    Task(
        "purge_job_history",
        PurgeJobHistoryV1,
        "30 3 * * *",
        "delete finished jobs, dead jobs and webhook deliveries past their retentions",
    ),
    Task(
        "reap_stuck_jobs",
        ReapStuckJobsV1,
        "* * * * *",
        "re-send or quarantine jobs whose worker died; re-send lost messages",
    ),
    Task(
        "relay_outbox",
        RelayOutboxV1,
        "* * * * *",
        "send jobs committed but never sent (broker was down)",
    ),
    Task(
        "apply_document_retention",
        ApplyDocumentRetentionV1,
        "45 4 * * *",
        "delete documents older than their tenant's retention",
    ),
    Task(
        "reembed_chunks",
        ReembedChunksV1,
        "*/10 * * * *",
        "re-embed chunks after an embedding model change, a bounded round; switch complete tenants;"
        " then embed the words of documents new to their tenant's vocabulary, a bounded round",
    ),
)


def task_named(name: str) -> Task:
    """The task called ``name`` (dashes or underscores)."""
    wanted = name.replace("-", "_")
    for task in TASKS:
        if task.name == wanted:
            return task
    raise InvalidInput(f"no maintenance task {name!r}", task=name)


def task_of(message_type: type[MaintenanceMessage]) -> Task:
    """The task whose message type is ``message_type``."""
    for task in TASKS:
        if task.message_type is message_type:
            return task
    raise InvalidInput(f"{message_type.__name__} is not a maintenance task", task=str(message_type))


def cron_of(scheduler_settings: object, task: Task) -> str:
    """The task's cron spec: its ``FOLIO_SCHEDULER_<NAME>_CRON`` setting when
    the settings have one, else its default."""
    value = getattr(scheduler_settings, task.setting, None)
    return value if isinstance(value, str) and value.strip() else task.default_cron


def normalise_tick(when: str | datetime) -> str:
    """A tick as Folio writes it: ISO 8601, UTC, to the minute
    (``2026-06-01T12:00:00+00:00``), whatever time zone or format the
    scheduler's clock gave, so every replica names a tick the same way."""
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0).isoformat()


def tick_key(namespace: str, task: str, tick: str) -> str:
    """Redis key claimed (``SET NX``) by the scheduler replica that sends
    ``tick`` of ``task``."""
    return f"folio:{namespace}:scheduler:tick:{task}:{tick}"


def last_tick_key(namespace: str, task: str) -> str:
    """Redis key holding the last tick sent for ``task``."""
    return f"folio:{namespace}:scheduler:last:{task}"
