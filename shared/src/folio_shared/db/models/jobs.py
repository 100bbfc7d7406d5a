"""Jobs (queued work, its outbox entry, its state) and their history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio_shared.db.enums import FailureCause, JobStatus
from folio_shared.db.models.base import (
    Base,
    check_in,
    created_at_column,
    enum_type,
    tenant_fk,
    updated_at_column,
    uuid_pk,
)

#: Job priorities, lowest first (the broker-side priority enum lives with the
#: queue definitions; this is only the column's guard).
JOB_PRIORITIES = ("low", "normal", "high", "critical")
#: Job statuses after which a job never runs again (but by a retry).
FINISHED_JOB_STATUSES = ("succeeded", "failed", "dead", "cancelled")
#: The condition of a document's active (pending, queued or running)
#: top-level job, at most one each (``uq_jobs_active_top_level``). Written
#: as "not finished" on purpose: no index on ``status`` can serve a ``NOT
#: IN``, so a query with this condition finds the job through that unique
#: index (or the document's jobs), never by reading every active job of
#: the system, which the planner chose for ``status IN (...)`` when its
#: statistics said active jobs were rare, in the middle of a backlog.
ACTIVE_TOP_LEVEL = (
    "parent_id IS NULL AND status NOT IN ('succeeded', 'failed', 'dead', 'cancelled')"
)


class Job(Base):
    """One unit of queued work, its outbox entry and its history.

    Outbox: ``message`` is the payload to send, ``sent_at`` stays ``None``
    until the broker accepted it (a relay sends rows that are ``pending``
    with no ``sent_at``). ``eta``: not before this time (retry backoff).
    A running job holds a lease (``worker``, ``lease_expires_at``);
    ``attempts`` counts started attempts, ``max_retries`` the retries allowed
    after the first. Progress: ``stage``, ``progress`` (percent, 0-100),
    ``units_done`` / ``units_total`` (e.g. pages). Fan-out: children point
    at ``parent_id``; the parent counts ``children_total`` /
    ``children_done`` and ``completion_sent_at`` marks the single fan-in
    message. ``tenant_id`` is ``None`` for maintenance jobs.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        check_in("status", [s.value for s in JobStatus], "status"),
        check_in("cause", [c.value for c in FailureCause], "cause"),
        check_in("priority", JOB_PRIORITIES, "priority"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
        sa.CheckConstraint("attempts >= 0 AND max_retries >= 0", name="attempts_positive"),
        sa.Index("ix_jobs_tenant_id_created_at", "tenant_id", "created_at"),
        sa.Index(
            "ix_jobs_outbox",
            "created_at",
            postgresql_where=sa.text("sent_at IS NULL AND status = 'pending'"),
        ),
        # children by parent (top-level jobs are not in it: no plan can read
        # every top-level job through it)
        sa.Index(
            "ix_jobs_children", "parent_id", postgresql_where=sa.text("parent_id IS NOT NULL")
        ),
        sa.Index("ix_jobs_document_id", "document_id"),
        # a document has at most one active top-level job (every process
        # request looks it up, and queues with ON CONFLICT on it)
        sa.Index(
            "uq_jobs_active_top_level",
            "document_id",
            unique=True,
            postgresql_where=sa.text(ACTIVE_TOP_LEVEL),
        ),
        sa.Index("ix_jobs_status_lease_expires_at", "status", "lease_expires_at"),
        sa.Index("ix_jobs_batch_id", "batch_id", postgresql_where=sa.text("batch_id IS NOT NULL")),
        sa.Index(
            "ix_jobs_tenant_id_actor_name_created_at", "tenant_id", "actor_name", "created_at"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID | None] = tenant_fk(nullable=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="SET NULL")
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("jobs.id", ondelete="CASCADE")
    )
    actor_name: Mapped[str] = mapped_column(sa.Text)
    queue_name: Mapped[str] = mapped_column(sa.Text)
    priority: Mapped[str] = mapped_column(sa.String(16), server_default="normal")
    status: Mapped[JobStatus] = mapped_column(
        enum_type(JobStatus), server_default=JobStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(server_default="0")
    max_retries: Mapped[int] = mapped_column(server_default="3")
    message: Mapped[dict[str, Any] | None]
    message_id: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None]
    eta: Mapped[datetime | None]
    stage: Mapped[str | None] = mapped_column(sa.Text)
    progress: Mapped[int] = mapped_column(sa.SmallInteger, server_default="0")
    units_done: Mapped[int] = mapped_column(server_default="0")
    units_total: Mapped[int | None]
    error_type: Mapped[str | None] = mapped_column(sa.Text)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    cause: Mapped[FailureCause | None] = mapped_column(enum_type(FailureCause))
    result: Mapped[dict[str, Any] | None]
    worker: Mapped[str | None] = mapped_column(sa.Text)
    lease_expires_at: Mapped[datetime | None]
    cancel_requested_at: Mapped[datetime | None]
    children_total: Mapped[int] = mapped_column(server_default="0")
    children_done: Mapped[int] = mapped_column(server_default="0")
    completion_sent_at: Mapped[datetime | None]
    #: The message (as the outbox stores it) sent once all children finish.
    on_complete: Mapped[dict[str, Any] | None]
    #: The client's labels (the ``metadata`` column; the name is SQLAlchemy's).
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    #: The batch this job belongs to.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("batches.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = updated_at_column()


class JobEvent(Base):
    """One event in a job's history (state change, progress, ...), in order
    of ``id``; the SSE stream replays from an event id."""

    __tablename__ = "job_events"
    __table_args__ = (
        check_in("status", [s.value for s in JobStatus], "status"),
        sa.Index("ix_job_events_job_id_id", "job_id", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    kind: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[JobStatus | None] = mapped_column(enum_type(JobStatus))
    data: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=sa.text("'{}'::jsonb")
    )
