"""Wire types of the ``/v1/ops`` routes, and their conversion from the
:mod:`folio_shared.ops` dataclasses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from folio_api.params import NoNulText
from folio_shared.ops.selection import MAX_SELECTION, Selection, dead_filter, select_dead


class QueueOut(msgspec.Struct, frozen=True, kw_only=True):
    """One physical queue: ``ready``, ``delayed``, ``in_flight`` and ``dead``
    message counts, ``oldest_age_s`` (seconds, ``None`` when empty),
    ``paused`` (its logical queue is), ``finished_per_minute`` (jobs finished
    in each of the last ``minutes``, oldest first) and ``finished`` (by
    final status over that window)."""

    queue: str
    logical: str
    priority: str
    ready: int
    delayed: int
    in_flight: int
    dead: int
    oldest_age_s: float | None
    paused: bool
    finished_per_minute: list[int]
    finished: dict[str, int]


class QueuesOut(msgspec.Struct, frozen=True, kw_only=True):
    """Every physical queue; throughput over the last ``minutes``."""

    minutes: int
    items: list[QueueOut]


class WorkerOut(msgspec.Struct, frozen=True, kw_only=True):
    """One live worker process: ``host``, ``pid``, the physical ``queues`` it
    consumes (``logical_queues`` without priorities), the ids of its
    ``current_jobs`` and its ``last_heartbeat``."""

    id: str
    host: str
    pid: int
    queues: list[str]
    logical_queues: list[str]
    current_jobs: list[str]
    started_at: datetime
    last_heartbeat: datetime


class WorkersOut(msgspec.Struct, frozen=True, kw_only=True):
    """The live workers."""

    items: list[WorkerOut]


class DeadJobOut(msgspec.Struct, frozen=True, kw_only=True):
    """A job as the workbench lists it (``status`` is ``dead`` in lists)."""

    id: uuid.UUID
    status: str
    tenant_id: uuid.UUID | None
    document_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    actor: str
    queue: str
    attempts: int
    max_retries: int
    cause: str | None
    error_type: str | None
    error_message: str | None
    created_at: datetime
    finished_at: datetime | None


class DeadJobsOut(msgspec.Struct, frozen=True, kw_only=True):
    """Dead jobs, the most recent death first."""

    items: list[DeadJobOut]


class AttemptOut(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt: its number, ``run`` (0 for the first run, +1 per
    re-drive), final ``status``, time, and the error with its traceback."""

    attempt: int
    run: int
    status: str | None
    at: datetime | None
    cause: str | None
    error_type: str | None
    error_message: str | None
    traceback: str | None


class JobDetailOut(msgspec.Struct, frozen=True, kw_only=True):
    """A job in full: summary, message ``payload`` and ``options``, last
    ``stage`` and ``progress`` (percent), ``result`` and every attempt."""

    job: DeadJobOut
    payload: dict[str, Any]
    options: dict[str, Any]
    stage: str | None
    progress: int
    result: dict[str, Any] | None
    attempts: list[AttemptOut]


class DeadFilterIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which dead jobs: every field narrows (absent: any). ``queue``: a
    logical (``ocr``) or physical (``ocr.high``) queue; ``since`` /
    ``until``: time of death (UTC when naive); ``limit``: at most this many
    jobs (default 100)."""

    queue: NoNulText | None = None
    actor: NoNulText | None = None
    error_type: NoNulText | None = None
    tenant_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_SELECTION)] = 100


class DeadSelection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The dead jobs to purge: ``job_ids``, or a ``filter`` that narrows,
    or ``all`` (every dead job, up to ``filter.limit``)."""

    job_ids: list[uuid.UUID] | None = None
    filter: DeadFilterIn | None = None
    all: bool = False


class RedriveIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The dead jobs to run again (as :class:`DeadSelection`) and
    ``options``: payload fields to change first, e.g. ``{"force_ocr": true}``."""

    job_ids: list[uuid.UUID] | None = None
    filter: DeadFilterIn | None = None
    all: bool = False
    options: dict[str, Any] | None = None


class RedriveOut(msgspec.Struct, frozen=True, kw_only=True):
    """The jobs sent again, and those refused with the reason (by job id)."""

    redriven: list[uuid.UUID]
    skipped: dict[str, str]


class PurgeOut(msgspec.Struct, frozen=True, kw_only=True):
    """The dead jobs deleted."""

    purged: list[uuid.UUID]


class PauseOut(msgspec.Struct, frozen=True, kw_only=True):
    """A logical ``queue``'s state after the call: ``paused`` or not;
    ``changed``: false when it already was in that state."""

    queue: str
    paused: bool
    changed: bool


class StalledJobOut(msgspec.Struct, frozen=True, kw_only=True):
    """A running job whose progress has not moved for ``idle_s`` seconds."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    document_id: uuid.UUID | None
    actor: str
    queue: str
    worker: str | None
    stage: str | None
    progress: int
    attempts: int
    started_at: datetime | None
    updated_at: datetime
    idle_s: float


class StalledJobsOut(msgspec.Struct, frozen=True, kw_only=True):
    """Stalled jobs, the longest idle first; ``stall_after_ms`` is the
    threshold used."""

    stall_after_ms: int
    items: list[StalledJobOut]


class AuditEntryOut(msgspec.Struct, frozen=True, kw_only=True):
    """One audit record: who (``actor``: ``api_key:<key id>``) did what
    (``action``, e.g. ``dead.redrive``) to what (``target``), when
    (``at``), with ``details``."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]


class AuditOut(msgspec.Struct, frozen=True, kw_only=True):
    """Audit records, the newest first."""

    items: list[AuditEntryOut]


def convert(value: Any, type_: type[Any]) -> Any:
    """An ops dataclass as its wire struct (fields read by attribute)."""
    return msgspec.convert(value, type_, from_attributes=True)


def selection(
    job_ids: list[uuid.UUID] | None, flt: DeadFilterIn | None, everything: bool
) -> Selection:
    """The dead jobs a re-drive or purge body chooses, by the kernel's rule
    (:func:`folio_shared.ops.selection.select_dead`)."""
    chosen = None
    if flt is not None:
        chosen = dead_filter(
            flt.queue, flt.actor, flt.error_type, flt.tenant_id, flt.since, flt.until, flt.limit
        )
    return select_dead(job_ids, chosen, everything)
