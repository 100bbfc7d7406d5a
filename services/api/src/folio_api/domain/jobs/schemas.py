"""Wire types of the jobs routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Protocol

import msgspec

from folio_shared.db.enums import FailureCause, JobStatus
from folio_shared.jobs.public_errors import tenant_message
from folio_shared.messages import Priority

#: Longest delay a job may ask for: 30 days, in milliseconds.
MAX_DELAY_MS = 30 * 24 * 3600 * 1000
#: A client's labels on a job or batch: at most 16, keys of 1 to 64
#: characters, string values of at most 256.
Labels = Annotated[
    dict[
        Annotated[str, msgspec.Meta(min_length=1, max_length=64)],
        Annotated[str, msgspec.Meta(max_length=256)],
    ],
    msgspec.Meta(max_length=16),
]


class JobFields(Protocol):
    """What the answers read of a job: a :class:`~folio_shared.db.models.Job`,
    or the same columns of a row read without the ORM (the queueing fast path)."""

    status: JobStatus

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def document_id(self) -> uuid.UUID | None: ...
    @property
    def parent_id(self) -> uuid.UUID | None: ...
    @property
    def actor_name(self) -> str: ...
    @property
    def queue_name(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def stage(self) -> str | None: ...
    @property
    def progress(self) -> int: ...
    @property
    def units_done(self) -> int: ...
    @property
    def units_total(self) -> int | None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def max_retries(self) -> int: ...
    @property
    def error_type(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def cause(self) -> FailureCause | None: ...
    @property
    def result(self) -> dict[str, Any] | None: ...
    @property
    def message(self) -> dict[str, Any] | None: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def queued_at(self) -> datetime | None: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def updated_at(self) -> datetime: ...


class JobLinks(msgspec.Struct, frozen=True, kw_only=True):
    """``self``: the job; ``events``: its SSE stream; ``document``: its document."""

    self: str
    events: str
    document: str | None = None


class JobRef(msgspec.Struct, frozen=True, kw_only=True):
    """A job in short: ``job_id``, ``status`` and its links."""

    job_id: uuid.UUID
    status: str
    links: JobLinks


class JobError(msgspec.Struct, frozen=True, kw_only=True):
    """Why the last attempt failed: exception ``type`` and ``message`` — the
    reason itself when the job failed on purpose (an unreadable file),
    else Folio's sentence for an internal error (the full text is for
    operators: :mod:`folio_shared.jobs.public_errors`)."""

    type: str | None
    message: str | None


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One state change of a job (``job_events``): ``status``, when
    (``at``), and what the engine recorded with it (attempt, cause, error;
    for tenants, an error's text is the sentence :class:`JobError` gives)."""

    status: str
    at: datetime
    data: dict[str, Any]


def timeline_entry(
    status: str, at: datetime, data: dict[str, Any], *, full_errors: bool = False
) -> TimelineEntry:
    """A ``job_events`` row on the wire (see :class:`TimelineEntry`)."""
    if not full_errors and data.get("error_message") is not None:
        data = {
            **data,
            "error_message": tenant_message(
                status, data.get("cause"), data.get("error_type"), data["error_message"]
            ),
        }
    return TimelineEntry(status=status, at=at, data=data)


class JobOut(msgspec.Struct, frozen=True, kw_only=True):
    """A job: state, progress (``stage``, ``progress`` percent, ``units_done``
    of ``units_total``), attempts, error and timestamps. ``actor`` is the
    job kind (``audio.analyze``, ``docs.process``); ``metadata``: the
    client's labels; ``batch_id``: its batch; ``run_at``: when a delayed
    job is due; ``timeline``: its state changes, oldest first (only in
    ``GET /v1/jobs/{id}``)."""

    id: uuid.UUID
    document_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    actor: str
    queue: str
    priority: str
    status: str
    stage: str | None
    progress: int
    units_done: int
    units_total: int | None
    attempts: int
    max_retries: int
    error: JobError | None
    cause: str | None
    result: dict[str, Any] | None
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    links: JobLinks
    metadata: dict[str, Any] | None = None
    batch_id: uuid.UUID | None = None
    run_at: datetime | None = None
    timeline: list[TimelineEntry] | None = None


class JobPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of jobs, newest first; pass ``next_cursor`` as ``cursor``
    for the next page (``None``: this was the last)."""

    items: list[JobOut]
    next_cursor: str | None


def job_links(job_id: uuid.UUID, document_id: uuid.UUID | None) -> JobLinks:
    return JobLinks(
        self=f"/v1/jobs/{job_id}",
        events=f"/v1/jobs/{job_id}/events",
        document=f"/v1/documents/{document_id}" if document_id else None,
    )


def job_ref(job: JobFields) -> JobRef:
    return JobRef(job_id=job.id, status=str(job.status), links=job_links(job.id, job.document_id))


def job_out(
    job: JobFields, *, timeline: list[TimelineEntry] | None = None, full_errors: bool = False
) -> JobOut:
    """``job`` on the wire; the job-kind columns (metadata, batch, due
    time) are read when the row has them (the queueing fast path's rows
    do not). ``full_errors`` (operators): the error's own text, not the
    tenant's sentence."""
    message = (
        job.error_message
        if full_errors
        else tenant_message(job.status, job.cause, job.error_type, job.error_message)
    )
    error = (
        JobError(type=job.error_type, message=message)
        if job.error_type or job.error_message
        else None
    )
    return JobOut(
        id=job.id,
        document_id=job.document_id,
        parent_id=job.parent_id,
        actor=job.actor_name,
        queue=job.queue_name,
        priority=job.priority,
        status=str(job.status),
        stage=job.stage,
        progress=job.progress,
        units_done=job.units_done,
        units_total=job.units_total,
        attempts=job.attempts,
        max_retries=job.max_retries,
        error=error,
        cause=str(job.cause) if job.cause else None,
        result=job.result,
        created_at=job.created_at,
        queued_at=job.queued_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        updated_at=job.updated_at,
        links=job_links(job.id, job.document_id),
        metadata=getattr(job, "meta", None),
        batch_id=getattr(job, "batch_id", None),
        run_at=getattr(job, "eta", None),
        timeline=timeline,
    )


class JobCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A job to run: its kind (``type``, e.g. ``audio.analyze``) and
    ``payload`` (checked against the kind's JSON schema); ``priority``
    (default: the kind's, else ``normal``; at most the tenant's maximum);
    ``delay_ms`` or ``run_at`` (not both) to run it later; ``metadata``:
    labels to find it by (``GET /v1/jobs?metadata.<key>=<value>``; at most
    16 string values); ``max_retries`` (default: the kind's, else 3)."""

    type: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    priority: Priority | None = None
    delay_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_DELAY_MS)] | None = None
    run_at: datetime | None = None
    metadata: Labels | None = None
    max_retries: Annotated[int, msgspec.Meta(ge=0, le=25)] | None = None
