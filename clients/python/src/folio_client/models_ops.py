"""Typed results of the operator calls (``client.ops``, ``/v1/ops``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from folio_client.models import Wire


@dataclass(frozen=True)
class QueueState(Wire):
    """One physical queue: ``ready``, ``delayed``, ``in_flight`` and ``dead``
    message counts, ``oldest_age_s`` (``None`` when empty), ``paused`` (its
    logical queue is), jobs finished in each recent minute (oldest first)
    and ``finished`` by final status over that window."""

    queue: str
    logical: str
    priority: str
    ready: int = 0
    delayed: int = 0
    in_flight: int = 0
    dead: int = 0
    oldest_age_s: float | None = None
    paused: bool = False
    finished_per_minute: list[int] = field(default_factory=list)
    finished: dict[str, int] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Worker(Wire):
    """A live worker process: ``host``, ``pid``, the physical ``queues`` it
    consumes, its ``current_jobs`` and ``last_heartbeat``."""

    id: str
    host: str
    pid: int
    queues: list[str] = field(default_factory=list)
    logical_queues: list[str] = field(default_factory=list)
    current_jobs: list[str] = field(default_factory=list)
    started_at: str | None = None
    last_heartbeat: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class DeadJob(Wire):
    """A job as the dead-letter workbench lists it, with its last error."""

    id: str
    status: str
    actor: str
    queue: str
    tenant_id: str | None = None
    document_id: str | None = None
    parent_id: str | None = None
    attempts: int = 0
    max_retries: int = 0
    cause: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Attempt(Wire):
    """One attempt of a job: ``attempt``, ``run`` (0, then +1 per re-drive),
    final ``status``, time, and its error with the traceback."""

    attempt: int
    run: int = 0
    status: str | None = None
    at: str | None = None
    cause: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class JobDetail(Wire):
    """A job in full: summary (``job``), message ``payload`` and
    ``options``, last ``stage`` and ``progress``, ``result``, ``attempts``."""

    job: DeadJob
    payload: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    stage: str | None = None
    progress: int = 0
    result: dict[str, Any] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "job": DeadJob.from_json(data["job"]),
            "attempts": [Attempt.from_json(a) for a in data.get("attempts") or []],
        }


@dataclass(frozen=True)
class Redriven(Wire):
    """The jobs sent again, and those refused with the reason (by job id)."""

    redriven: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Purged(Wire):
    """The dead jobs deleted."""

    purged: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class QueuePause(Wire):
    """A logical ``queue`` after a pause or resume: ``paused``; ``changed``
    is false when it already was in that state."""

    queue: str
    paused: bool
    changed: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class StalledJob(Wire):
    """A running job whose progress has not moved for ``idle_s`` seconds."""

    id: str
    actor: str
    queue: str
    tenant_id: str | None = None
    document_id: str | None = None
    worker: str | None = None
    stage: str | None = None
    progress: int = 0
    attempts: int = 0
    started_at: str | None = None
    updated_at: str | None = None
    idle_s: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class AuditEntry(Wire):
    """One audit record: who (``actor``) did what (``action``) to what
    (``target``), when, with ``details``."""

    id: int
    at: str
    actor: str
    action: str
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
