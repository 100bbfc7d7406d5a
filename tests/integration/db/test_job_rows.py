"""A new job's rows (:mod:`folio_shared.jobs.rows`): the job the batched
SQL writes already sent is the job the outbox writes, then marks sent.
Real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.engine import asyncpg_dsn, create_session_factory
from folio_shared.db.models import Job, JobEvent
from folio_shared.jobs import outbox, rows
from folio_shared.messages import Priority, ProcessDocumentV1, Queue

pytestmark = pytest.mark.integration

#: One job per row of the arrays, as the API's fast path composes it.
_INSERT = f"""
WITH r AS (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[])
    AS r(job_id, message_id, priority, max_retries, envelope)
), {
    rows.insert_queued(
        "j",
        source="r",
        job_id="r.job_id",
        tenant_id="NULL::uuid",
        document_id="NULL::uuid",
        priority="r.priority",
        max_retries="r.max_retries",
        message="r.envelope::jsonb",
        message_id="r.message_id",
    )
}
SELECT id FROM j
"""  # noqa: S608 - the job engine's SQL and constants only

#: Columns that differ between a job written pending and one written sent.
_SENDING = {"id", "status", "message_id", "sent_at", "queued_at", "created_at", "updated_at"}


def _message(priority: Priority) -> ProcessDocumentV1:
    return ProcessDocumentV1(
        job_id=str(uuid.uuid4()),
        tenant_id=str(uuid.uuid4()),
        document_id=str(uuid.uuid4()),
        storage_key="tenants/t/documents/d",
        content_type="application/pdf",
        priority=priority,
    )


def _columns(job: Job) -> dict[str, Any]:
    return {c.key: getattr(job, c.key) for c in sa.inspect(Job).column_attrs}


@pytest.mark.parametrize("queue", [None, Queue.DOCUMENTS_LARGE], ids=["own-queue", "large"])
async def test_the_batched_insert_writes_the_job_the_outbox_writes(
    engine: AsyncEngine, database_url: str, queue: Queue | None
) -> None:
    # Given the same message, enqueued through the outbox (pending) ...
    msg = _message(Priority.HIGH)
    env = outbox.envelope(msg, priority=Priority.HIGH, queue=queue)
    async with create_session_factory(engine)() as session:
        pending = await outbox.enqueue(
            session, msg, priority=Priority.HIGH, max_retries=5, queue=queue
        )
        await session.commit()
    # ... and inserted already sent by the batched SQL
    sent_id, message_id = uuid.uuid4(), str(uuid.uuid4())
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        inserted = await conn.fetch(
            _INSERT, [sent_id], [message_id], [Priority.HIGH.value], [5], [json.dumps(env)]
        )
    finally:
        await conn.close()
    assert [r["id"] for r in inserted] == [sent_id]

    async with create_session_factory(engine)() as session:
        outboxed = await session.get_one(Job, pending.id)
        batched = await session.get_one(Job, sent_id)
        events = list(
            await session.scalars(
                sa.select(JobEvent)
                .where(JobEvent.job_id.in_([pending.id, sent_id]))
                .order_by(JobEvent.id)
            )
        )

    # Then the jobs agree but for what sending changes
    same = {k: v for k, v in _columns(outboxed).items() if k not in _SENDING}
    assert same == {k: v for k, v in _columns(batched).items() if k not in _SENDING}
    assert batched.queue_name == env["queue"]
    assert batched.actor_name == env["actor"]
    assert (outboxed.status, batched.status) == ("pending", "queued")
    assert batched.message_id == message_id
    assert batched.sent_at is not None
    # the outbox's pending event, and the batched job's pending then queued
    assert [(e.status, e.data) for e in events if e.job_id == pending.id] == [("pending", {})]
    assert [(e.kind, e.status, e.data) for e in events if e.job_id == sent_id] == [
        ("state", "pending", {}),
        ("state", "queued", {"message_id": message_id}),
    ]
