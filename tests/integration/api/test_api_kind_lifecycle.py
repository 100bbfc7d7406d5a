"""A job kind's whole life through the API, with a real worker: submit,
result, live events, cancel while running, retry, and a batch whose
completion job runs once — the routes the document jobs have, for a kind
that is not a document's.

The worker runs in this process on Folio's middleware stack, with the
plain test kinds of :mod:`support.plain_kinds` (their ``job_kinds`` rows
written as a worker writes them)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from apikit import TenantKey, parse_sse
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from support.jobs import runs, wait_for
from support.plain_kinds import DONE, WORK, record_kinds
from support.workers import RunningWorker

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


@pytest.fixture(scope="module", autouse=True)
async def kinds(engine: AsyncEngine) -> None:
    await record_kinds(engine)


async def submit(client: Client, who: TenantKey, payload: dict[str, Any]) -> str:
    r = await client.post("/v1/jobs", headers=who.headers, json={"type": WORK, "payload": payload})
    assert r.status_code == 202, r.text
    job_id: str = r.json()["id"]
    return job_id


async def until(client: Client, who: TenantKey, job_id: str, *states: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/v1/jobs/{job_id}", headers=who.headers)).json()
        return body if body["status"] in states else None

    found: dict[str, Any] = await wait_for(check, timeout_s=30, what=f"job in {states}")
    return found


async def test_a_kind_runs_with_result_timeline_and_events(
    client: Client, alice: TenantKey, worker: RunningWorker
) -> None:
    job_id = await submit(client, alice, {"key": uuid.uuid4().hex[:8]})
    job = await until(client, alice, job_id, "succeeded")
    assert job["result"] == {"type": f"{WORK}.v1"}
    assert job["attempts"] == 1
    assert [t["status"] for t in job["timeline"]] == ["pending", "queued", "running", "succeeded"]
    stream = await client.get(f"/v1/jobs/{job_id}/events", headers=alice.headers)
    received = parse_sse(stream.text)
    assert received[0]["event"] == "snapshot"
    assert "progress" in [e.get("event") for e in received]
    assert json.loads(received[-1]["data"])["status"] == "succeeded"


async def test_a_running_kind_is_cancelled_and_a_failed_one_retried(
    client: Client, alice: TenantKey, worker: RunningWorker, redis: Any
) -> None:
    key = uuid.uuid4().hex[:8]
    slow = await submit(client, alice, {"key": key, "sleep_ms": 3_000})
    await until(client, alice, slow, "running")
    cancel = await client.post(f"/v1/jobs/{slow}/cancel", headers=alice.headers)
    assert cancel.status_code == 200, cancel.text
    cancelled = await until(client, alice, slow, "cancelled")
    assert cancelled["error"]["type"] == "JobCancelled"

    broken = await submit(client, alice, {"key": key, "fail": True})
    failed = await until(client, alice, broken, "failed")
    assert "asked to fail" in failed["error"]["message"]
    retried = await client.post(f"/v1/jobs/{broken}/retry", headers=alice.headers)
    assert retried.status_code == 202, retried.text
    await until(client, alice, broken, "failed")
    assert await runs(redis, key, f"kind:{broken}") == 2


async def test_a_batch_through_the_api_completes_once(
    client: Client, alice: TenantKey, worker: RunningWorker, redis: Any
) -> None:
    key = uuid.uuid4().hex[:8]
    r = await client.post(
        "/v1/batches",
        headers=alice.headers,
        json={
            "jobs": [{"type": WORK, "payload": {"key": key, "fail": i == 0}} for i in range(10)],
            "on_complete": {"type": DONE, "payload": {"key": key}},
        },
    )
    assert r.status_code == 202, r.text
    batch_id = r.json()["id"]

    async def finished() -> dict[str, Any] | None:
        body: dict[str, Any] = (
            await client.get(f"/v1/batches/{batch_id}", headers=alice.headers)
        ).json()
        return body if body["state"] != "running" and body["completion_job_id"] else None

    batch = await wait_for(finished, timeout_s=30, what="the batch to finish")
    assert (batch["state"], batch["finished"], batch["failed"]) == ("failed", 10, 1)
    assert batch["counts"] == {"succeeded": 9, "failed": 1}
    assert batch["progress"] == 100
    done = await until(client, alice, batch["completion_job_id"], "succeeded")
    assert done["metadata"] == {"batch_id": batch_id}
    await asyncio.sleep(0.5)
    assert await runs(redis, key, "done") == 1
