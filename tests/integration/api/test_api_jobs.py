"""Jobs: get, list, cancel, retry, and live events over SSE (Redis streams)."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, parse_sse, pdf_bytes, problem
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.jobs import finish_as_worker

from folio_shared.db.models import Job
from folio_shared.jobs import events

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


async def new_job(client: Client, who: TenantKey) -> tuple[str, str]:
    r = await client.post(
        "/v1/documents",
        headers=who.headers,
        files={"file": ("j.pdf", pdf_bytes("job"), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    return r.json()["document"]["id"], r.json()["job"]["job_id"]


async def test_get_and_list_jobs(client: Client, alice: TenantKey) -> None:
    await new_job(client, alice)
    doc_id, job_id = await new_job(client, alice)
    job = await client.get(f"/v1/jobs/{job_id}", headers=alice.headers)
    assert job.status_code == 200
    body = job.json()
    assert body["id"] == job_id
    assert body["document_id"] == doc_id
    assert body["status"] == "queued"
    assert body["actor"] == "docs.process"
    assert body["links"]["events"] == f"/v1/jobs/{job_id}/events"
    listed = await client.get("/v1/jobs", headers=alice.headers, params={"document_id": doc_id})
    assert [j["id"] for j in listed.json()["items"]] == [job_id]
    queued = await client.get(
        "/v1/jobs", headers=alice.headers, params={"status": "queued", "limit": 1}
    )
    assert len(queued.json()["items"]) == 1
    assert queued.json()["next_cursor"]
    problem(
        await client.get(f"/v1/jobs/{uuid.uuid4()}", headers=alice.headers), 404, "job_not_found"
    )


async def test_cancel_then_retry(client: Client, alice: TenantKey) -> None:
    _, job_id = await new_job(client, alice)
    problem(
        await client.post(f"/v1/jobs/{job_id}/retry", headers=alice.headers),
        409,
        "job_state_conflict",
    )
    cancelled = await client.post(f"/v1/jobs/{job_id}/cancel", headers=alice.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    problem(
        await client.post(f"/v1/jobs/{job_id}/cancel", headers=alice.headers),
        409,
        "job_state_conflict",
    )
    retried = await client.post(f"/v1/jobs/{job_id}/retry", headers=alice.headers)
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] in ("pending", "queued")
    assert retried.json()["attempts"] == 0


async def test_events_replay_and_close_after_terminal(
    client: Client, alice: TenantKey, redis: Redis, database_url: str
) -> None:
    _, job_id = await new_job(client, alice)
    ids = [
        await events.publish(redis, job_id, "state", {"status": "running"}),
        await events.publish(
            redis, job_id, "progress", {"stage": "extract", "done": 1, "total": 2}
        ),
        await events.publish(
            redis, job_id, "progress", {"stage": "extract", "done": 2, "total": 2}
        ),
        await finish_as_worker(database_url, redis, job_id, "succeeded"),
    ]
    response = await client.get(f"/v1/jobs/{job_id}/events", headers=alice.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    received = parse_sse(response.text)
    assert received[0]["event"] == "snapshot"
    assert json.loads(received[0]["data"])["id"] == job_id
    assert [e["id"] for e in received[1:]] == ids
    assert [e["event"] for e in received[1:]] == ["state", "progress", "progress", "state"]
    assert json.loads(received[-1]["data"]) == {"status": "succeeded"}
    # resume after the second event: only the rest, no snapshot
    resumed = await client.get(
        f"/v1/jobs/{job_id}/events", headers={**alice.headers, "Last-Event-ID": ids[1]}
    )
    assert [e["id"] for e in parse_sse(resumed.text)] == ids[2:]


async def test_events_stream_live_with_heartbeats(
    client: Client, alice: TenantKey, test_servers: Any, database_url: str
) -> None:
    _, job_id = await new_job(client, alice)

    async def publish_later() -> None:
        own = Redis.from_url(test_servers.redis_url)
        try:
            await asyncio.sleep(0.3)
            await events.publish(own, job_id, "progress", {"stage": "ocr", "done": 1, "total": 1})
            await asyncio.sleep(1.3)  # longer than the test app's 0.5 s heartbeat
            await finish_as_worker(database_url, own, job_id, "failed")
        finally:
            await own.aclose()

    # The test client blocks this loop while it waits: the "worker" runs in a thread.
    worker = threading.Thread(target=asyncio.run, args=(publish_later(),))
    worker.start()
    response = await client.get(f"/v1/jobs/{job_id}/events", headers=alice.headers)
    worker.join(timeout=10)
    received = parse_sse(response.text)
    kinds = [e.get("event") or ("comment:" + e.get("comment", "")) for e in received]
    assert kinds[0] == "snapshot"
    assert "progress" in kinds
    assert "comment:heartbeat" in kinds
    assert kinds[-1] == "state"
    assert json.loads(received[-1]["data"])["status"] == "failed"


async def test_terminal_job_with_lost_stream_gets_a_synthesized_end(
    client: Client, alice: TenantKey, engine: AsyncEngine, redis: Redis
) -> None:
    _, job_id = await new_job(client, alice)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(Job)
            .where(Job.id == uuid.UUID(job_id))
            .values(status="failed", error_type="ExtractionError", error_message="bad pdf")
        )
    await redis.delete(events.stream_key(job_id))  # as after a Redis flush
    response = await asyncio.wait_for(
        client.get(f"/v1/jobs/{job_id}/events", headers=alice.headers), timeout=10
    )
    received = parse_sse(response.text)
    assert [e["event"] for e in received] == ["snapshot", "state"]
    assert json.loads(received[-1]["data"]) == {
        "status": "failed",
        "synthesized": True,
        "error": {"type": "ExtractionError", "message": "bad pdf"},
    }


async def test_retry_keeps_one_active_job_per_document(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    r = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files={"file": ("r.pdf", pdf_bytes("retry-one-active"), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    doc_id, first = r.json()["document"]["id"], r.json()["job"]["job_id"]
    assert (await client.post(f"/v1/jobs/{first}/cancel", headers=alice.headers)).status_code == 200
    again = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
    second = again.json()["job"]["job_id"]
    assert second != first
    # the old job cannot come back while the new one is active
    refused = problem(
        await client.post(f"/v1/jobs/{first}/retry", headers=alice.headers),
        409,
        "job_state_conflict",
    )
    assert second in refused["detail"]
    async with engine.connect() as conn:
        status = await conn.scalar(sa.select(Job.status).where(Job.id == uuid.UUID(first)))
    assert status == "cancelled"
    # once it is not, it can; the document is queued again with it
    assert (
        await client.post(f"/v1/jobs/{second}/cancel", headers=alice.headers)
    ).status_code == 200
    retried = await client.post(f"/v1/jobs/{first}/retry", headers=alice.headers)
    assert retried.status_code == 202, retried.text
    document = await client.get(f"/v1/documents/{doc_id}", headers=alice.headers)
    assert document.json()["status"] == "queued"


async def test_retrying_a_running_parent_is_refused_and_keeps_its_children(
    alice: TenantKey, engine: AsyncEngine, settings: Any
) -> None:
    """A job that cannot be retried (running, waiting for its children)
    keeps its children: nothing is deleted before the state is checked."""
    from folio_shared.broker import create_broker
    from folio_shared.errors import JobStateConflict
    from folio_shared.jobs import Jobs

    parent = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(Job).values(
                id=parent, tenant_id=alice.tenant_id, actor_name="docs.process",
                queue_name="documents", status="running", message={},
            )
        )  # fmt: skip
        await conn.execute(
            sa.insert(Job).values(
                id=uuid.uuid4(), tenant_id=alice.tenant_id, parent_id=parent,
                actor_name="ocr.page", queue_name="ocr", status="queued", message={},
            )
        )  # fmt: skip
    broker = create_broker(settings, middleware=[])
    redis = Redis.from_url(settings.redis.url)
    try:
        with pytest.raises(JobStateConflict):
            await Jobs(engine, broker, redis).retry(parent, tenant_id=alice.tenant_id)
    finally:
        broker.close()
        await redis.aclose()
    async with engine.connect() as conn:
        children = await conn.scalar(
            sa.select(sa.func.count()).select_from(Job).where(Job.parent_id == parent)
        )
    assert children == 1


INTERNAL_TEXT = (
    'connection to server at "db-primary.internal" (10.0.3.7), port 5432 failed: '
    'FATAL: password authentication failed for user "folio"'
)


async def test_a_tenant_sees_a_safe_error_and_an_operator_the_full_one(
    client: Client, alice: TenantKey, engine: AsyncEngine, redis: Redis, operator_key: str
) -> None:
    # Given a job that died of an internal error, and one failed on purpose
    _, dead_id = await new_job(client, alice)
    _, failed_id = await new_job(client, alice)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(Job)
            .where(Job.id == uuid.UUID(dead_id))
            .values(
                status="dead", cause="error", error_type="OperationalError",
                error_message=INTERNAL_TEXT, finished_at=sa.func.now(),
            )
        )  # fmt: skip
        await conn.execute(
            sa.update(Job)
            .where(Job.id == uuid.UUID(failed_id))
            .values(
                status="failed", cause="error", error_type="DocumentUnreadable",
                error_message="no text could be read from document 1",
            )
        )  # fmt: skip
    await redis.delete(events.stream_key(dead_id))
    # When the tenant reads them (the job, its document, its live feed)
    dead = (await client.get(f"/v1/jobs/{dead_id}", headers=alice.headers)).json()
    failed = (await client.get(f"/v1/jobs/{failed_id}", headers=alice.headers)).json()
    listed = (await client.get("/v1/jobs", headers=alice.headers)).text
    feed = await asyncio.wait_for(
        client.get(f"/v1/jobs/{dead_id}/events", headers=alice.headers), timeout=10
    )
    # Then the internal error's text never reaches them, the purposeful one does
    assert dead["error"] == {
        "type": "OperationalError",
        "message": "an internal error stopped the job; an operator can see the details",
    }
    for shown in (json.dumps(dead), listed, feed.text):
        assert "db-primary" not in shown
        assert "password" not in shown
    assert failed["error"]["message"] == "no text could be read from document 1"
    # and the operator sees the full error
    ops = {"Authorization": f"Bearer {operator_key}"}
    detail = await client.get(f"/v1/ops/dead/{dead_id}", headers=ops)
    assert detail.status_code == 200, detail.text
    assert detail.json()["job"]["error_message"] == INTERNAL_TEXT


async def test_a_last_event_id_never_sent_is_400(
    client: Client, alice: TenantKey, redis: Redis, database_url: str
) -> None:
    # Given a job whose feed holds two events
    _, job_id = await new_job(client, alice)
    first = await events.publish(redis, job_id, "state", {"status": "running"})
    second = await events.publish(redis, job_id, "progress", {"stage": "ocr", "done": 1})
    assert first is not None
    assert second is not None
    ms = int(second.split("-")[0])
    # When a client resumes after ids the API never sent: past the feed's
    # end, or between its events
    between = f"{first.split('-')[0]}-{int(first.split('-')[1]) + 7}"
    for forged in (f"{ms + 60_000}-0", between):
        answer = await asyncio.wait_for(
            client.get(
                f"/v1/jobs/{job_id}/events", headers={**alice.headers, "Last-Event-ID": forged}
            ),
            timeout=10,
        )
        # Then it is told so
        problem(answer, 400, "invalid_input")
    # While an id older than the whole feed (trimmed, or an earlier run's)
    # still resumes, with everything the feed holds
    done = await finish_as_worker(database_url, redis, job_id, "succeeded")
    old = await client.get(
        f"/v1/jobs/{job_id}/events", headers={**alice.headers, "Last-Event-ID": "1-0"}
    )
    assert old.status_code == 200
    assert [e["id"] for e in parse_sse(old.text)] == [first, second, done]
