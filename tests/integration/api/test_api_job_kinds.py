"""Jobs of declared kinds through the API: submit, validation against the
kind's JSON schema, tenant limits (kinds, priority, also on the document
routes), the job-types list, filters, the timeline, operator keys.

Kinds are ``job_kinds`` rows written here as a worker writes them when it
starts; nothing consumes the jobs (their messages wait in Redis)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, make_tenant, pdf_bytes, problem, queued_messages
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.models import Job, JobEvent, JobKind, JobKindWorker, Tenant
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]

#: A payload schema as msgspec writes one for a Struct (``$ref`` into ``$defs``).
RESIZE_SCHEMA: dict[str, Any] = {
    "$ref": "#/$defs/Resize",
    "$defs": {
        "Resize": {
            "type": "object",
            "properties": {
                "type": {"enum": ["img.resize.v2"]},
                "key": {"type": "string", "minLength": 1},
                "width": {"type": "integer", "minimum": 1},
                "sizes": {"type": "array", "items": {"type": "integer"}},
            },
            "required": ["type", "key", "width"],
        }
    },
}


async def declare_kind(
    engine: AsyncEngine, name: str, *, options: dict[str, Any] | None = None
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(JobKind).values(
                name=name,
                version=2,
                queue="imaging",
                payload_schema={
                    **RESIZE_SCHEMA,
                    "$defs": {
                        "Resize": {
                            **RESIZE_SCHEMA["$defs"]["Resize"],
                            "properties": {
                                **RESIZE_SCHEMA["$defs"]["Resize"]["properties"],
                                "type": {"enum": [f"{name}.v2"]},
                            },
                        }
                    },
                },
                options=options or {"max_retries": 5},
            )
        )


@pytest.fixture(scope="module")
async def kind(engine: AsyncEngine) -> str:
    name = f"img.resize{uuid.uuid4().hex[:6]}"
    await declare_kind(engine, name)
    return name


async def limited_tenant(engine: AsyncEngine, **limits: Any) -> TenantKey:
    who = await make_tenant(engine, "limited")
    async with engine.begin() as conn:
        await conn.execute(sa.update(Tenant).where(Tenant.id == who.tenant_id).values(**limits))
    return who


async def test_a_job_of_a_kind_is_queued_on_its_queue(
    client: Client, alice: TenantKey, kind: str, redis: Redis, settings: FolioSettings
) -> None:
    r = await client.post(
        "/v1/jobs",
        headers=alice.headers,
        json={
            "type": kind,
            "payload": {"key": "in/a.png", "width": 64},
            "priority": "high",
            "metadata": {"customer": "c-1"},
        },
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert (job["actor"], job["queue"], job["priority"]) == (kind, "imaging.high", "high")
    assert job["status"] == "queued"
    assert job["max_retries"] == 5  # the kind's default
    assert job["metadata"] == {"customer": "c-1"}
    sent = await queued_messages(redis, settings.broker.namespace, "imaging.high")
    [message] = [m for m in sent.values() if m["options"]["job_id"] == job["id"]]
    assert message["actor_name"] == kind
    assert message["args"] == [{"key": "in/a.png", "width": 64, "type": f"{kind}.v2"}]


async def test_a_payload_off_the_schema_is_422_naming_the_field(
    client: Client, alice: TenantKey, kind: str
) -> None:
    r = await client.post(
        "/v1/jobs",
        headers=alice.headers,
        json={"type": kind, "payload": {"key": "k", "width": "wide", "sizes": [1, "x"]}},
    )
    body = problem(r, 422, "invalid_payload")
    keys = {e["key"] for e in body["errors"]}
    assert keys == {"payload.width", "payload.sizes[1]"}
    assert "payload.width" in body["detail"]
    missing = await client.post(
        "/v1/jobs", headers=alice.headers, json={"type": kind, "payload": {"width": 3}}
    )
    assert "key" in problem(missing, 422, "invalid_payload")["detail"]


async def test_an_unknown_kind_is_422_listing_the_known_ones(
    client: Client, alice: TenantKey, kind: str
) -> None:
    r = await client.post(
        "/v1/jobs", headers=alice.headers, json={"type": "no.such", "payload": {}}
    )
    body = problem(r, 422, "unknown_job_kind")
    assert kind in body["known_kinds"]
    assert kind in body["detail"]


async def test_bad_bodies_are_400(client: Client, alice: TenantKey, kind: str) -> None:
    both = {"type": kind, "payload": {"key": "k", "width": 1}, "delay_ms": 10}
    both["run_at"] = datetime.now(UTC).isoformat()
    problem(await client.post("/v1/jobs", headers=alice.headers, json=both), 400, "invalid_input")
    extra = {"type": kind, "payload": {}, "colour": "red"}
    problem(await client.post("/v1/jobs", headers=alice.headers, json=extra), 400, "invalid_input")


async def test_a_delayed_job_keeps_its_due_time_in_the_row(
    client: Client, alice: TenantKey, kind: str, engine: AsyncEngine
) -> None:
    before = datetime.now(UTC)
    r = await client.post(
        "/v1/jobs",
        headers=alice.headers,
        json={"type": kind, "payload": {"key": "k", "width": 1}, "delay_ms": 60_000},
    )
    after = datetime.now(UTC)
    assert r.status_code == 202, r.text
    run_at = datetime.fromisoformat(r.json()["run_at"])
    # 60 s after the API took the request, however long the round trip took
    delay = timedelta(seconds=60)
    assert before + delay - timedelta(seconds=1) < run_at < after + delay + timedelta(seconds=1)
    at = datetime.now(UTC) + timedelta(hours=2)
    r = await client.post(
        "/v1/jobs",
        headers=alice.headers,
        json={"type": kind, "payload": {"key": "k", "width": 1}, "run_at": at.isoformat()},
    )
    async with engine.connect() as conn:
        eta = await conn.scalar(sa.select(Job.eta).where(Job.id == uuid.UUID(r.json()["id"])))
    assert eta == at


async def test_a_tenant_limited_to_some_kinds(
    client: Client, engine: AsyncEngine, kind: str
) -> None:
    other = f"other.kind{uuid.uuid4().hex[:6]}"
    await declare_kind(engine, other)
    who = await limited_tenant(engine, allowed_kinds=[kind])
    refused = await client.post(
        "/v1/jobs", headers=who.headers, json={"type": other, "payload": {"key": "k", "width": 1}}
    )
    problem(refused, 403, "kind_not_allowed")
    unknown = await client.post("/v1/jobs", headers=who.headers, json={"type": "x.y"})
    assert problem(unknown, 422, "unknown_job_kind")["known_kinds"] == [kind]
    listed = await client.get("/v1/job-types", headers=who.headers)
    assert [k["name"] for k in listed.json()["items"]] == [kind]
    ok = await client.post(
        "/v1/jobs", headers=who.headers, json={"type": kind, "payload": {"key": "k", "width": 1}}
    )
    assert ok.status_code == 202, ok.text


async def test_priority_above_the_tenants_maximum_is_refused_everywhere(
    client: Client, engine: AsyncEngine, alice: TenantKey, kind: str
) -> None:
    job = {"type": kind, "payload": {"key": "k", "width": 1}, "priority": "critical"}
    # Given a tenant with no maximum set: high is its maximum
    body = problem(
        await client.post("/v1/jobs", headers=alice.headers, json=job), 403, "priority_not_allowed"
    )
    assert body["max_priority"] == "high"
    upload = await client.post(
        "/v1/documents?priority=critical",
        headers=alice.headers,
        files={"file": ("p.pdf", pdf_bytes("prio"), "application/pdf")},
    )
    problem(upload, 403, "priority_not_allowed")
    stored = await client.post(
        "/v1/documents?process=false",
        headers=alice.headers,
        files={"file": ("q.pdf", pdf_bytes("prio2"), "application/pdf")},
    )
    doc = stored.json()["document"]["id"]
    process = await client.post(
        f"/v1/documents/{doc}/process", headers=alice.headers, json={"priority": "critical"}
    )
    problem(process, 403, "priority_not_allowed")
    # A tenant limited to low cannot ask for normal either
    low = await limited_tenant(engine, max_priority="low")
    normal = {**job, "priority": "normal"}
    problem(
        await client.post("/v1/jobs", headers=low.headers, json=normal), 403, "priority_not_allowed"
    )
    ok_low = await client.post("/v1/jobs", headers=low.headers, json={**job, "priority": "low"})
    assert ok_low.status_code == 202
    # A tenant allowed critical may use it, on jobs and documents
    vip = await limited_tenant(engine, max_priority="critical")
    assert (await client.post("/v1/jobs", headers=vip.headers, json=job)).status_code == 202
    upload = await client.post(
        "/v1/documents?priority=critical",
        headers=vip.headers,
        files={"file": ("v.pdf", pdf_bytes("vip"), "application/pdf")},
    )
    assert upload.status_code == 201, upload.text


async def test_a_kinds_default_priority_is_lowered_to_the_tenants_maximum(
    client: Client, engine: AsyncEngine, alice: TenantKey
) -> None:
    urgent = f"urgent.kind{uuid.uuid4().hex[:6]}"
    await declare_kind(engine, urgent, options={"priority": "critical"})
    r = await client.post(
        "/v1/jobs",
        headers=alice.headers,
        json={"type": urgent, "payload": {"key": "k", "width": 1}},
    )
    assert r.status_code == 202, r.text
    assert r.json()["priority"] == "high"


async def test_job_types_show_schemas_queues_and_live_workers(
    client: Client, engine: AsyncEngine, alice: TenantKey, kind: str
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(JobKindWorker).values(
                [
                    {"kind": kind, "worker": worker, "seen_at": datetime.now(UTC) - ago}
                    for worker, ago in (
                        ("w1", timedelta(0)),
                        ("w2", timedelta(seconds=5)),
                        ("gone", timedelta(hours=1)),
                    )
                ]
            )
        )
    r = await client.get("/v1/job-types", headers=alice.headers)
    assert r.status_code == 200
    [mine] = [k for k in r.json()["items"] if k["name"] == kind]
    assert mine["workers"] == 2
    assert mine["queue"] == "imaging"
    assert mine["queues"] == ["imaging.critical", "imaging.high", "imaging", "imaging.low"]
    assert mine["payload_schema"]["$ref"] == "#/$defs/Resize"
    assert mine["version"] == 2


async def test_list_filters_timeline_and_operator_view(
    client: Client, alice: TenantKey, bob: TenantKey, kind: str, operator_key: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = []
    for who, colour in ((alice, "red"), (alice, "blue"), (bob, "red")):
        r = await client.post(
            "/v1/jobs",
            headers=who.headers,
            json={
                "type": kind,
                "payload": {"key": "k", "width": 1},
                "metadata": {"tag": tag, "colour": colour},
            },
        )
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    page = await client.get(
        f"/v1/jobs?type={kind}&metadata.tag={tag}&metadata.colour=red&state=queued",
        headers=alice.headers,
    )
    assert page.status_code == 200, page.text
    assert [j["id"] for j in page.json()["items"]] == [ids[0]]
    mine = await client.get(f"/v1/jobs?metadata.tag={tag}&limit=1", headers=alice.headers)
    assert [j["id"] for j in mine.json()["items"]] == [ids[1]]
    nxt = mine.json()["next_cursor"]
    rest = await client.get(
        f"/v1/jobs?metadata.tag={tag}&limit=1&cursor={nxt}", headers=alice.headers
    )
    assert [j["id"] for j in rest.json()["items"]] == [ids[0]]
    ops = {"Authorization": f"Bearer {operator_key}"}
    every = await client.get(f"/v1/jobs?metadata.tag={tag}&metadata.colour=red", headers=ops)
    assert {j["id"] for j in every.json()["items"]} == {ids[0], ids[2]}
    problem(await client.get(f"/v1/jobs/{ids[2]}", headers=alice.headers), 404, "job_not_found")
    detail = await client.get(f"/v1/jobs/{ids[2]}", headers=ops)
    assert [t["status"] for t in detail.json()["timeline"]] == ["pending", "queued"]
    cancelled = await client.post(f"/v1/jobs/{ids[1]}/cancel", headers=alice.headers)
    assert cancelled.json()["status"] == "cancelled"
    after = await client.get(f"/v1/jobs/{ids[1]}", headers=alice.headers)
    assert [t["status"] for t in after.json()["timeline"]] == ["pending", "queued", "cancelled"]
    # an operator submits jobs of no tenant, at any priority
    r = await client.post(
        "/v1/jobs",
        headers=ops,
        json={"type": kind, "payload": {"key": "k", "width": 1}, "priority": "critical"},
    )
    assert r.status_code == 202, r.text


async def test_tenants_read_a_safe_error_and_operators_the_full_one(
    client: Client, alice: TenantKey, kind: str, operator_key: str, engine: AsyncEngine
) -> None:
    r = await client.post(
        "/v1/jobs", headers=alice.headers, json={"type": kind, "payload": {"key": "k", "width": 1}}
    )
    job_id = uuid.UUID(r.json()["id"])
    secret = "could not connect to server 10.1.2.3: password authentication failed"
    error = {"error_type": "OperationalError", "error_message": secret, "cause": "error"}
    async with engine.begin() as conn:
        await conn.execute(sa.update(Job).where(Job.id == job_id).values(status="dead", **error))
        await conn.execute(
            sa.insert(JobEvent).values(job_id=job_id, kind="state", status="dead", data=error)
        )
    mine = (await client.get(f"/v1/jobs/{job_id}", headers=alice.headers)).json()
    assert mine["error"]["type"] == "OperationalError"
    assert secret not in str(mine)
    assert mine["timeline"][-1]["data"]["error_message"] == mine["error"]["message"]
    listed = await client.get(f"/v1/jobs?type={kind}&state=dead", headers=alice.headers)
    assert secret not in listed.text
    ops = {"Authorization": f"Bearer {operator_key}"}
    full = (await client.get(f"/v1/jobs/{job_id}", headers=ops)).json()
    assert full["error"]["message"] == secret
    assert full["timeline"][-1]["data"]["error_message"] == secret
