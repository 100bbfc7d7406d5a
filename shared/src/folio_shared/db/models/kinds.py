"""Job kinds workers serve, the workers serving them, and batches of jobs
(migration 0008)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio_shared.db.models.base import (
    Base,
    created_at_column,
    tenant_fk,
    updated_at_column,
    uuid_pk,
)


class JobKind(Base):
    """A job kind some worker declared (``audio.analyze``).

    ``version``: the payload's major version the workers decode;
    ``payload_schema`` / ``result_schema``: JSON schemas (the API validates
    payloads with the first); ``queue``: the logical queue; ``options``:
    retries, backoff, time limit, rate limit and concurrency as declared.
    """

    __tablename__ = "job_kinds"
    __table_args__ = (sa.CheckConstraint("version > 0", name="version_positive"),)

    name: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    version: Mapped[int]
    queue: Mapped[str] = mapped_column(sa.Text)
    payload_schema: Mapped[dict[str, Any]] = mapped_column(JSONB)
    result_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    options: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=sa.text("'{}'::jsonb")
    )
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class JobKindWorker(Base):
    """A worker process serving a kind; ``seen_at`` is its heartbeat."""

    __tablename__ = "job_kind_workers"
    __table_args__ = (sa.Index("ix_job_kind_workers_seen_at", "seen_at"),)

    kind: Mapped[str] = mapped_column(
        sa.ForeignKey("job_kinds.name", ondelete="CASCADE"), primary_key=True
    )
    worker: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    started_at: Mapped[datetime] = created_at_column()
    seen_at: Mapped[datetime] = created_at_column()


class Batch(Base):
    """Jobs grouped under one status, with an optional completion job.

    ``total`` members, ``finished`` of them in a final state (``failed`` of
    those did not succeed). ``on_complete``: the outbox envelope of the
    completion job, sent once (``completion_job_id`` set in the transaction
    that counts the last member). ``meta`` is the ``metadata`` column.
    """

    __tablename__ = "batches"
    __table_args__ = (
        sa.CheckConstraint(
            "finished >= 0 AND failed >= 0 AND finished <= total AND failed <= finished",
            name="counts",
        ),
        sa.Index("ix_batches_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID | None] = tenant_fk(nullable=True)
    total: Mapped[int] = mapped_column(server_default="0")
    finished: Mapped[int] = mapped_column(server_default="0")
    failed: Mapped[int] = mapped_column(server_default="0")
    on_complete: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    completion_job_id: Mapped[uuid.UUID | None]
    meta: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, default=dict, server_default=sa.text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None]
