"""Batches and per-kind job statistics through the API.

The batch's counting and completion run in the job engine (tests in
``tests/integration/jobs/test_job_batches.py``); here: what the routes
accept, refuse and answer. Statistics are checked against job rows whose
times are set here, so every figure is known."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, problem
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from support.plain_kinds import DONE, WORK, record_kinds

from folio_shared.db.models import Batch, Job

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


@pytest.fixture(scope="module", autouse=True)
async def kinds(engine: AsyncEngine) -> None:
    await record_kinds(engine)


async def test_a_batch_is_written_with_its_members(
    client: Client, alice: TenantKey, bob: TenantKey, engine: AsyncEngine
) -> None:
    key = uuid.uuid4().hex[:8]
    r = await client.post(
        "/v1/batches",
        headers=alice.headers,
        json={
            "jobs": [{"type": WORK, "payload": {"key": key}} for _ in range(5)],
            "on_complete": {"type": DONE, "payload": {"key": key}, "priority": "high"},
            "metadata": {"run": key},
        },
    )
    assert r.status_code == 202, r.text
    batch = r.json()
    assert (batch["state"], batch["total"], batch["finished"], batch["progress"]) == (
        "running",
        5,
        0,
        0,
    )
    assert batch["counts"] == {"queued": 5}
    assert batch["metadata"] == {"run": key}
    assert len(batch["jobs"]) == 5
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(Batch).where(Batch.id == batch["id"]))).one()
    assert row.on_complete["actor"] == DONE
    assert row.on_complete["queue"] == "testkinds.high"
    members = await client.get(f"/v1/jobs?batch_id={batch['id']}", headers=alice.headers)
    assert {j["id"] for j in members.json()["items"]} == {j["job_id"] for j in batch["jobs"]}
    assert {j["batch_id"] for j in members.json()["items"]} == {batch["id"]}
    again = await client.get(f"/v1/batches/{batch['id']}", headers=alice.headers)
    assert again.json()["jobs"] is None
    assert again.json()["counts"] == {"queued": 5}
    hidden = await client.get(f"/v1/batches/{batch['id']}", headers=bob.headers)
    problem(hidden, 404, "batch_not_found")


async def test_a_batch_with_one_bad_member_writes_nothing(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    tag = uuid.uuid4().hex[:8]
    jobs: list[dict[str, Any]] = [{"type": WORK, "payload": {"key": tag}} for _ in range(3)]
    jobs[2] = {"type": WORK, "payload": {"key": 7}}
    r = await client.post("/v1/batches", headers=alice.headers, json={"jobs": jobs})
    body = problem(r, 422, "invalid_payload")
    assert [e["key"] for e in body["errors"]] == ["jobs[2].payload.key"]
    assert "jobs[2].payload.key" in body["detail"]
    async with engine.connect() as conn:
        written = await conn.scalar(
            sa.select(sa.func.count()).where(Job.message["payload"]["key"].astext == tag)
        )
    assert written == 0
    empty = await client.post("/v1/batches", headers=alice.headers, json={"jobs": []})
    problem(empty, 400, "invalid_input")
    delayed_completion = {
        "jobs": [{"type": WORK, "payload": {"key": tag}}],
        "on_complete": {"type": DONE, "payload": {"key": tag}, "delay_ms": 5},
    }
    problem(
        await client.post("/v1/batches", headers=alice.headers, json=delayed_completion),
        400,
        "invalid_input",
    )


async def test_stats_per_kind(
    client: Client, engine: AsyncEngine, alice: TenantKey, bob: TenantKey
) -> None:
    # Given six jobs of one kind with known times: 4 succeeded (queue wait
    # 1, 2, 3, 4 s; run time 10, 20, 30, 40 s), 1 dead, 1 cancelled; and
    # one of bob's, which alice's figures must not count
    kind = WORK
    since = datetime.now(UTC)
    ids = []
    for who in (alice,) * 6 + (bob,):
        r = await client.post(
            "/v1/jobs", headers=who.headers, json={"type": kind, "payload": {"key": "s"}}
        )
        assert r.status_code == 202, r.text
        ids.append(uuid.UUID(r.json()["id"]))
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    async with engine.begin() as conn:
        for i, job_id in enumerate(ids[:4]):
            await conn.execute(
                sa.update(Job)
                .where(Job.id == job_id)
                .values(
                    status="succeeded",
                    queued_at=t0,
                    started_at=t0 + timedelta(seconds=i + 1),
                    finished_at=t0 + timedelta(seconds=i + 1 + 10 * (i + 1)),
                )
            )
        await conn.execute(sa.update(Job).where(Job.id == ids[4]).values(status="dead"))
        await conn.execute(sa.update(Job).where(Job.id == ids[5]).values(status="cancelled"))
    r = await client.get(
        f"/v1/jobs/stats?type={kind}&since={since.isoformat().replace('+00:00', 'Z')}",
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    [stats] = r.json()["kinds"]
    assert stats["type"] == kind
    assert stats["counts"] == {"succeeded": 4, "dead": 1, "cancelled": 1}
    assert (stats["total"], stats["finished"]) == (6, 6)
    assert stats["failure_rate"] == 0.2
    assert stats["queue_wait_ms"] == {"p50": 2500.0, "p95": 3850.0}
    assert stats["run_time_ms"] == {"p50": 25000.0, "p95": 38500.0}
    assert stats["throughput_per_min"] > 0
    everything = await client.get("/v1/jobs/stats", headers=alice.headers)
    assert kind in {k["type"] for k in everything.json()["kinds"]}
