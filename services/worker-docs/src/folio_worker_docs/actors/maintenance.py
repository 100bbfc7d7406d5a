"""Maintenance actors: run the task a scheduler tick (or an operator) sent.

The logic lives in :mod:`folio_shared.maintenance`; these actors decode the
message, open a session and report the summary.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dramatiq

from folio_shared import maintenance
from folio_shared.logging import get_logger
from folio_shared.messages import ExpireUploadsV1, PurgeJobHistoryV1, Queue, decode_as
from folio_shared.resources import resources

log = get_logger(__name__)


@dramatiq.actor(actor_name=PurgeJobHistoryV1.actor_name, queue_name=Queue.MAINTENANCE.value)
async def purge_job_history(payload: dict[str, Any]) -> dict[str, Any]:
    msg = decode_as(payload, PurgeJobHistoryV1)
    res = resources()
    async with res.sessions() as session:
        summary = await maintenance.purge_job_history(
            session,
            retention_days=msg.retention_days or res.settings.jobs.retention_days,
            now=datetime.now(UTC),
            dry_run=msg.dry_run,
            batch_size=msg.batch_size or 1000,
        )
    log.info("maintenance run", **summary.as_dict(), tick=msg.tick)
    return summary.as_dict()


@dramatiq.actor(actor_name=ExpireUploadsV1.actor_name, queue_name=Queue.MAINTENANCE.value)
async def expire_uploads(payload: dict[str, Any]) -> dict[str, Any]:
    msg = decode_as(payload, ExpireUploadsV1)
    res = resources()
    async with res.sessions() as session:
        summary = await maintenance.expire_uploads(
            session,
            res.storage,
            abandoned_after_s=msg.abandoned_after_s or res.settings.upload.abandoned_after_s,
            now=datetime.now(UTC),
            dry_run=msg.dry_run,
            batch_size=msg.batch_size or 500,
        )
    log.info("maintenance run", **summary.as_dict(), tick=msg.tick)
    return summary.as_dict()
