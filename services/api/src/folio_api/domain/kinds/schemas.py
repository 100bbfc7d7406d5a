"""Wire types of ``GET /v1/job-types``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from folio_shared.db.models import JobKind
from folio_shared.messages import physical_queue_names


class JobTypeOut(msgspec.Struct, frozen=True, kw_only=True):
    """A job kind: ``name``, the payload's major ``version``, its logical
    ``queue`` and the ``queues`` it is sent on (one per priority), the
    payload's and result's JSON schemas, the ``options`` it was declared
    with (retries, time limit, rate limit, concurrency), and ``workers``:
    how many worker processes serving it are live now."""

    name: str
    version: int
    queue: str
    queues: list[str]
    payload_schema: dict[str, Any]
    result_schema: dict[str, Any] | None
    options: dict[str, Any]
    description: str | None
    workers: int
    updated_at: datetime


class JobTypeList(msgspec.Struct, frozen=True, kw_only=True):
    """Every declared job kind, by name."""

    items: list[JobTypeOut]


def job_type_out(kind: JobKind, workers: int) -> JobTypeOut:
    return JobTypeOut(
        name=kind.name,
        version=kind.version,
        queue=kind.queue,
        queues=list(physical_queue_names(kind.queue)),
        payload_schema=kind.payload_schema,
        result_schema=kind.result_schema,
        options=kind.options,
        description=kind.description,
        workers=workers,
        updated_at=kind.updated_at,
    )
