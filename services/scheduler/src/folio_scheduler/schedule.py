"""What the scheduler sends, and when.

Each entry pairs a maintenance message type with a cron spec read from
settings (``FOLIO_SCHEDULER_*_CRON``). The scheduler never does the work:
on each tick it sends the message, and worker-docs' maintenance actor of the
same name runs it.
"""

from __future__ import annotations

from typing import NamedTuple

from folio_shared.messages import ExpireUploadsV1, MaintenanceMessage, PurgeJobHistoryV1
from folio_shared.settings import SchedulerSettings


class Entry(NamedTuple):
    """One periodic task: the message type it sends and its cron spec."""

    message_type: type[MaintenanceMessage]
    cron: str


def entries(settings: SchedulerSettings) -> list[Entry]:
    """The schedule in effect."""
    return [
        Entry(ExpireUploadsV1, settings.expire_uploads_cron),
        Entry(PurgeJobHistoryV1, settings.purge_job_history_cron),
    ]
