"""The error of a failed attempt, kept in the job's history.

The job engine records each attempt's outcome (error type and message) as a
``state`` row of ``job_events``; :func:`record_error` adds an ``error`` row
with the attempt number and what the caller knows of the error (its
traceback, for the dead-letter workbench).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.models import JobEvent

#: ``job_events.kind`` of an attempt's error row.
ERROR_EVENT = "error"


async def record_error(engine: AsyncEngine, job_id: uuid.UUID, data: dict[str, Any]) -> None:
    """Add an ``error`` row with ``data`` (attempt, error type and message,
    traceback) to the job's history, in a transaction of its own."""
    async with engine.begin() as conn:
        await conn.execute(sa.insert(JobEvent).values(job_id=job_id, kind=ERROR_EVENT, data=data))
