"""Wire types of the batch routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from folio_api.domain.jobs.schemas import JobCreate, JobRef, Labels

#: Most jobs in one batch request.
MAX_BATCH_JOBS = 1_000


class BatchCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Jobs to run as one batch (each as in ``POST /v1/jobs``, at most
    1,000), an optional completion job (``on_complete``: ``type``,
    ``payload``, ``priority``, ``metadata``, ``max_retries``; sent once,
    when every member is in a final state) and the batch's ``metadata``."""

    jobs: Annotated[list[JobCreate], msgspec.Meta(min_length=1, max_length=MAX_BATCH_JOBS)]
    on_complete: JobCreate | None = None
    metadata: Labels | None = None


class BatchOut(msgspec.Struct, frozen=True, kw_only=True):
    """A batch: ``state`` (``running`` until every member is in a final
    state, then ``succeeded`` when all succeeded, else ``failed``),
    ``total`` members, ``finished`` (in a final state) and ``failed`` of
    them (failed, dead or cancelled), ``counts`` by job state, ``progress``
    over the whole batch (percent: a finished member counts 100, a running
    one its own progress), the completion job once it exists, and
    ``jobs``: the members' ids (in the answer to ``POST`` only; list them
    with ``GET /v1/jobs?batch_id=``)."""

    id: uuid.UUID
    state: str
    total: int
    finished: int
    failed: int
    counts: dict[str, int]
    progress: int
    completion_job_id: uuid.UUID | None
    metadata: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
    jobs: list[JobRef] | None = None
