"""The ops API (``/v1/ops``), ``/metrics`` and the degraded ``/readyz``,
against the real Redis and PostgreSQL of ``make test``.

Dead and stalled jobs are written straight to the database (the job engine
itself is covered by ``tests/integration/jobs`` and ``observability``); the
routes are driven through the in-process app with real operator and tenant
keys.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, problem
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared import metrics
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import AuditLog, Job, JobKind
from folio_shared.jobs import outbox
from folio_shared.messages import ProcessDocumentV1
from folio_shared.ops import paused_queues
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def make_job(engine: AsyncEngine, tenant_id: uuid.UUID, **values: Any) -> uuid.UUID:
    """A ``docs.process`` job committed through the outbox, then set to ``values``."""
    job_id = uuid.uuid4()
    msg = ProcessDocumentV1(
        job_id=str(job_id),
        tenant_id=str(tenant_id),
        document_id=str(uuid.uuid4()),
        storage_key=f"uploads/{uuid.uuid4()}",
        content_type="application/pdf",
    )
    async with create_session_factory(engine)() as session:
        await outbox.enqueue(session, msg, tenant_id=tenant_id)
        await session.commit()
    async with engine.begin() as conn:
        await conn.execute(sa.update(Job).where(Job.id == job_id).values(**values))
    return job_id


async def make_dead(engine: AsyncEngine, tenant_id: uuid.UUID, error_type: str) -> uuid.UUID:
    return await make_job(
        engine,
        tenant_id,
        status="dead",
        attempts=4,
        error_type=error_type,
        error_message=f"{error_type} in the parser",
        finished_at=sa.func.now(),
    )


async def status_of(engine: AsyncEngine, job_id: uuid.UUID) -> str | None:
    async with engine.connect() as conn:
        value = await conn.scalar(sa.select(Job.status).where(Job.id == job_id))
    return None if value is None else str(value)


async def audit_rows(engine: AsyncEngine, action: str) -> list[Any]:
    async with engine.connect() as conn:
        query = sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        return list((await conn.execute(query)).all())


ROUTES = [
    ("GET", "/v1/ops/queues", None),
    ("GET", "/v1/ops/workers", None),
    ("GET", "/v1/ops/dead", None),
    ("GET", "/v1/ops/dead/6f1d2c3b-0a4e-4f5d-9c8b-7a6e5d4c3b2a", None),  # no such job
    ("POST", "/v1/ops/dead/redrive", {"all": True}),
    ("POST", "/v1/ops/dead/purge", {"all": True}),
    ("POST", "/v1/ops/queues/ocr/pause", None),
    ("POST", "/v1/ops/queues/ocr/resume", None),
    ("GET", "/v1/ops/stalled", None),
    ("GET", "/v1/ops/audit", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_tenant_keys_and_no_key_are_refused(
    client: AsyncTestClient[Any], alice: TenantKey, method: str, path: str, body: Any
) -> None:
    refused = await client.request(method, path, headers=alice.headers, json=body)
    problem(refused, 403, "forbidden")
    problem(await client.request(method, path, json=body), 401, "unauthorized")


async def test_operator_routes_refuse_operator_keys_on_tenant_routes(
    client: AsyncTestClient[Any], operator_key: str
) -> None:
    # (the job routes take operator keys: they see every tenant's jobs)
    problem(await client.get("/v1/documents", headers=bearer(operator_key)), 403, "forbidden")


async def test_queues_and_workers_have_their_shape(
    client: AsyncTestClient[Any], operator_key: str
) -> None:
    response = await client.get("/v1/ops/queues?minutes=3", headers=bearer(operator_key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["minutes"] == 3
    by_name = {q["queue"]: q for q in body["items"]}
    assert {"documents", "ocr"} <= {q["logical"] for q in body["items"]}
    one = next(iter(by_name.values()))
    assert set(one) == {
        "queue",
        "logical",
        "priority",
        "ready",
        "delayed",
        "in_flight",
        "dead",
        "oldest_age_s",
        "paused",
        "finished_per_minute",
        "finished",
    }
    assert all(len(q["finished_per_minute"]) == 3 for q in body["items"])
    workers = await client.get("/v1/ops/workers", headers=bearer(operator_key))
    assert workers.status_code == 200, workers.text
    assert workers.json() == {"items": []}  # no worker runs in this module
    problem(
        await client.get("/v1/ops/queues?minutes=0", headers=bearer(operator_key)),
        400,
        "invalid_input",
    )


async def test_a_dead_job_is_listed_inspected_redriven_and_audited(
    client: AsyncTestClient[Any],
    engine: AsyncEngine,
    alice: TenantKey,
    bob: TenantKey,
    operator_key: str,
) -> None:
    ops = bearer(operator_key)
    doomed = await make_dead(engine, alice.tenant_id, "ParserBug")
    other = await make_dead(engine, bob.tenant_id, "TimeoutError")

    listed = await client.get(
        "/v1/ops/dead", params={"error_type": "ParserBug", "queue": "documents"}, headers=ops
    )
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [j["id"] for j in items] == [str(doomed)]
    assert items[0]["status"] == "dead"
    assert items[0]["actor"] == "docs.process"
    assert items[0]["tenant_id"] == str(alice.tenant_id)
    assert items[0]["error_message"] == "ParserBug in the parser"
    by_tenant = await client.get(
        "/v1/ops/dead", params={"tenant_id": str(bob.tenant_id)}, headers=ops
    )
    assert [j["id"] for j in by_tenant.json()["items"]] == [str(other)]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = await client.get("/v1/ops/dead", params={"since": future}, headers=ops)
    assert later.json() == {"items": []}

    shown = await client.get(f"/v1/ops/dead/{doomed}", headers=ops)
    assert shown.status_code == 200, shown.text
    detail = shown.json()
    assert detail["job"]["id"] == str(doomed)
    assert detail["payload"]["job_id"] == str(doomed)
    assert detail["payload"]["force_ocr"] is False
    assert isinstance(detail["attempts"], list)
    problem(await client.get(f"/v1/ops/dead/{uuid.uuid4()}", headers=ops), 404, "job_not_found")

    # No selection, or two at once, is refused: never an accidental "everything".
    problem(await client.post("/v1/ops/dead/redrive", json={}, headers=ops), 400, "invalid_input")
    both = {"job_ids": [str(doomed)], "all": True}
    problem(await client.post("/v1/ops/dead/redrive", json=both, headers=ops), 400, "invalid_input")

    missing = uuid.uuid4()
    redriven = await client.post(
        "/v1/ops/dead/redrive",
        json={"job_ids": [str(doomed), str(missing)], "options": {"force_ocr": True}},
        headers=ops,
    )
    assert redriven.status_code == 200, redriven.text
    report = redriven.json()
    assert report["redriven"] == [str(doomed)]
    assert report["skipped"] == {str(missing): "no such job"}
    assert await status_of(engine, doomed) in {"pending", "queued"}
    assert await status_of(engine, other) == "dead"
    again = await client.get(f"/v1/ops/dead/{doomed}", headers=ops)
    assert again.json()["payload"]["force_ocr"] is True

    entries = [e for e in await audit_rows(engine, "dead.redrive") if e.target == f"job:{doomed}"]
    assert len(entries) == 1
    assert entries[0].actor.startswith("api_key:")
    assert entries[0].details["options"] == {"force_ocr": True}

    # Once re-driven it is no longer dead: a second re-drive skips it.
    twice = await client.post("/v1/ops/dead/redrive", json={"job_ids": [str(doomed)]}, headers=ops)
    assert twice.json()["redriven"] == []
    assert str(doomed) in twice.json()["skipped"]


async def test_purge_by_filter_deletes_only_the_selection_and_is_audited(
    client: AsyncTestClient[Any], engine: AsyncEngine, alice: TenantKey, operator_key: str
) -> None:
    ops = bearer(operator_key)
    gone = await make_dead(engine, alice.tenant_id, "PurgeMe")
    kept = await make_dead(engine, alice.tenant_id, "KeepMe")
    response = await client.post(
        "/v1/ops/dead/purge", json={"filter": {"error_type": "PurgeMe"}}, headers=ops
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"purged": [str(gone)]}
    assert await status_of(engine, gone) is None
    assert await status_of(engine, kept) == "dead"
    entries = [e for e in await audit_rows(engine, "dead.purge") if e.target == f"job:{gone}"]
    assert len(entries) == 1
    assert entries[0].actor.startswith("api_key:")
    assert entries[0].details["filter"]["error_type"] == "PurgeMe"
    problem(
        await client.post("/v1/ops/dead/purge", json={"filter": {"limit": 5}}, headers=ops),
        400,
        "invalid_input",
    )


async def test_pause_and_resume_change_the_paused_queues(
    client: AsyncTestClient[Any],
    engine: AsyncEngine,
    settings: FolioSettings,
    redis: Any,
    operator_key: str,
) -> None:
    ops = bearer(operator_key)
    namespace = settings.broker.namespace
    paused = await client.post("/v1/ops/queues/OCR/pause", headers=ops)
    assert paused.status_code == 200, paused.text
    assert paused.json() == {"queue": "ocr", "paused": True, "changed": True}
    assert await paused_queues(redis, namespace) == {"ocr"}
    again = await client.post("/v1/ops/queues/ocr/pause", headers=ops)
    assert again.json()["changed"] is False
    queues = (await client.get("/v1/ops/queues", headers=ops)).json()["items"]
    assert all(q["paused"] == (q["logical"] == "ocr") for q in queues)

    resumed = await client.post("/v1/ops/queues/ocr/resume", headers=ops)
    assert resumed.json() == {"queue": "ocr", "paused": False, "changed": True}
    assert await paused_queues(redis, namespace) == set()
    actions = [e.action for e in await audit_rows(engine, "queue.pause")]
    actions += [e.action for e in await audit_rows(engine, "queue.resume")]
    assert actions.count("queue.pause") == 2
    assert actions.count("queue.resume") == 1
    problem(await client.post("/v1/ops/queues/nope/pause", headers=ops), 400, "invalid_input")
    # a queue a job kind declared is paused like Folio's own
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(JobKind).values(
                name="audio.analyze", version=1, queue="media", payload_schema={}
            )
        )
    media = await client.post("/v1/ops/queues/media/pause", headers=ops)
    assert media.json() == {"queue": "media", "paused": True, "changed": True}
    assert await paused_queues(redis, namespace) == {"media"}


async def test_stalled_jobs_are_listed_and_make_readyz_degraded(
    client: AsyncTestClient[Any], engine: AsyncEngine, alice: TenantKey, operator_key: str
) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"redis": "ok", "postgres": "ok", "storage": "ok"},
    }
    now = datetime.now(UTC)
    stuck = await make_job(
        engine,
        alice.tenant_id,
        status="running",
        worker="host-1:123",
        stage="extract",
        progress=40,
        started_at=now - timedelta(hours=1),
        lease_expires_at=now + timedelta(minutes=5),
        updated_at=now - timedelta(minutes=30),
    )
    try:
        listed = await client.get("/v1/ops/stalled", headers=bearer(operator_key))
        assert listed.status_code == 200, listed.text
        body = listed.json()
        assert body["stall_after_ms"] == 600_000
        assert [j["id"] for j in body["items"]] == [str(stuck)]
        assert body["items"][0]["worker"] == "host-1:123"
        assert body["items"][0]["idle_s"] >= 30 * 60 - 5
        # A threshold longer than the idle time finds nothing.
        longer = await client.get(
            "/v1/ops/stalled", params={"stall_after_ms": 3_600_000}, headers=bearer(operator_key)
        )
        assert longer.json()["items"] == []

        degraded = await client.get("/readyz")
        assert degraded.status_code == 200, degraded.text
        assert degraded.json() == {
            "status": "degraded",
            "degraded": ["jobs_stalled"],
            "checks": {"redis": "ok", "postgres": "ok", "storage": "ok"},
            "stalled_jobs": 1,
        }
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.delete(Job).where(Job.id == stuck))
    assert (await client.get("/readyz")).json()["status"] == "ready"


async def test_metrics_count_requests_by_route_template(
    client: AsyncTestClient[Any], alice: TenantKey
) -> None:
    job_id = uuid.uuid4()
    assert (await client.get(f"/v1/jobs/{job_id}", headers=alice.headers)).status_code == 404
    # the public port serves no metrics; the process's registry counts it
    assert (await client.get("/metrics")).status_code == 404
    text = metrics.render()[0].decode()
    assert "folio_http_requests_total" in text
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("folio_http_requests_total{")
        and 'route="/v1/jobs/{job_id}"' in ln
        and 'status="404"' in ln
        and 'method="GET"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) >= 1
    assert str(job_id) not in text  # raw paths never become labels
    assert "folio_http_request_duration_seconds_bucket{" in text


async def test_a_redrive_cannot_change_whose_file_a_job_reads(
    client: AsyncTestClient[Any], engine: AsyncEngine, alice: TenantKey, operator_key: str
) -> None:
    ops = bearer(operator_key)
    doomed = await make_dead(engine, alice.tenant_id, "ParserBug")
    before = (await client.get(f"/v1/ops/dead/{doomed}", headers=ops)).json()["payload"]
    for options in (
        {"tenant_id": str(uuid.uuid4())},
        {"storage_key": "tenants/someone-else/documents/x"},
        {"job_id": str(uuid.uuid4())},
        {"force_ocr": True, "document_id": str(uuid.uuid4())},
        {"ocr_dpi": "many"},
    ):
        refused = await client.post(
            "/v1/ops/dead/redrive", json={"job_ids": [str(doomed)], "options": options}, headers=ops
        )
        body = problem(refused, 400, "redrive_option_refused")
        assert "force_ocr" in body["detail"] or "ocr_dpi" in body["detail"]
    # nothing was re-driven, nothing changed
    assert await status_of(engine, doomed) == "dead"
    after = (await client.get(f"/v1/ops/dead/{doomed}", headers=ops)).json()["payload"]
    assert after == before
    # an allowed option still works
    allowed = await client.post(
        "/v1/ops/dead/redrive",
        json={"job_ids": [str(doomed)], "options": {"ocr_dpi": 400}},
        headers=ops,
    )
    assert allowed.json()["redriven"] == [str(doomed)], allowed.text
