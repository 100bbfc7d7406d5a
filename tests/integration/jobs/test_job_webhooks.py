"""Webhook events of the job engine: each final outcome of a tenant's job
and a batch's completion is written in the transaction that records it
(real worker, real job engine; the delivery itself is tested end to end in
tests/e2e/test_webhooks_e2e.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from support.jobs import wait_for
from support.plain_kinds import DONE, KIND_QUEUE, WORK

from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import Batch
from folio_shared.db.repositories.tenants import create_tenant
from folio_shared.jobs import Jobs, outbox
from folio_shared.jobs.batches import JOB_KEY
from folio_shared.messages import Priority
from folio_shared.webhooks.signing import new_secret

pytestmark = pytest.mark.integration


async def _tenant_with_webhook(jobs: Jobs, events: list[str]) -> uuid.UUID:
    async with create_session_factory(jobs.engine)() as session:
        tenant, _ = await create_tenant(session, f"hooks-{uuid.uuid4().hex[:8]}")
        await session.execute(
            sa.text(
                "INSERT INTO webhook_endpoints (tenant_id, url, events, secret)"
                " VALUES (:t, 'https://example.com/hook', :events, :secret)"
            ),
            {"t": tenant.id, "events": events, "secret": new_secret()},
        )
        await session.commit()
    return tenant.id


async def _batch(jobs: Jobs, tenant_id: uuid.UUID, key: str) -> tuple[uuid.UUID, list[uuid.UUID]]:
    done = outbox.kind_envelope(DONE, 1, KIND_QUEUE, {"key": key}, priority=Priority.NORMAL)
    async with create_session_factory(jobs.engine)() as session:
        batch = Batch(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            total=3,
            on_complete={**done, JOB_KEY: {}},
            meta={"order": "A-17"},
        )
        session.add(batch)
        await session.flush()
        members = [
            outbox.enqueue_envelope(
                session,
                outbox.kind_envelope(
                    WORK, 1, KIND_QUEUE, {"key": key, "fail": i == 1}, priority=Priority.NORMAL
                ),
                tenant_id=tenant_id,
                batch_id=batch.id,
                max_retries=0,
                meta={"n": i},
            )
            for i in range(3)
        ]
        await session.commit()
        ids = outbox.pending_ids(session)
    await jobs.dispatch(ids)
    return batch.id, [m.id for m in members]


async def _events(jobs: Jobs, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    async with jobs.engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT payload FROM webhook_deliveries WHERE tenant_id = :t ORDER BY created_at"
            ),
            {"t": tenant_id},
        )
        return [r.payload for r in rows]


async def test_job_outcomes_and_batch_completion_are_events(jobs: Jobs, key: str) -> None:
    # Given a tenant whose endpoint takes every event type
    tenant_id = await _tenant_with_webhook(jobs, [])
    # When a batch of three runs (one member fails) and its completion job runs
    batch_id, ids = await _batch(jobs, tenant_id, key)

    async def all_in() -> list[dict[str, Any]] | None:
        found = await _events(jobs, tenant_id)
        return found if len(found) >= 5 else None

    events = await wait_for(all_in, timeout_s=60, what="five webhook events")
    # Then each final outcome and the completion are one event each
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event["data"])
    assert sorted(by_type) == ["batch.completed", "job.failed", "job.succeeded"]
    [failed] = by_type["job.failed"]
    assert failed["job_id"] == str(ids[1])
    assert (failed["kind"], failed["state"], failed["batch_id"]) == (WORK, "failed", str(batch_id))
    assert failed["metadata"] == {"n": 1}
    succeeded = {e["job_id"]: e for e in by_type["job.succeeded"]}
    assert {str(ids[0]), str(ids[2])} < set(succeeded)
    completion = [e for e in succeeded.values() if e["kind"] == DONE]
    assert len(completion) == 1
    [batch] = by_type["batch.completed"]
    assert batch == {
        "batch_id": str(batch_id),
        "state": "completed",
        "total": 3,
        "succeeded": 2,
        "failed": 1,
        "completion_job_id": completion[0]["job_id"],
        "metadata": {"order": "A-17"},
    }
    assert len({e["id"] for e in events}) == len(events)


async def test_a_filter_keeps_other_types_out(jobs: Jobs, key: str) -> None:
    tenant_id = await _tenant_with_webhook(jobs, ["batch.completed"])
    batch_id, _ = await _batch(jobs, tenant_id, key)

    async def one() -> list[dict[str, Any]] | None:
        found = await _events(jobs, tenant_id)
        return found or None

    events = await wait_for(one, timeout_s=60, what="the batch's event")
    assert [e["type"] for e in events] == ["batch.completed"]
    assert events[0]["data"]["batch_id"] == str(batch_id)
