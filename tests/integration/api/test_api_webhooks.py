"""``/v1/webhooks``: endpoints, filters, secrets and the tenant wall; the
refusal of addresses inside the deployment; and the events the database
writes in the transaction that commits their state (never without it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, make_tenant, problem
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.app import create_app
from folio_shared.settings import FolioSettings, WebhookSettings
from folio_shared.webhooks import EVENT_TYPES

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


@pytest.fixture(scope="module")
async def client(settings: FolioSettings) -> AsyncIterator[Client]:
    """The API with private addresses allowed (the receivers of tests are on loopback)."""
    allowed = settings.model_copy(
        update={"webhooks": WebhookSettings(allow_private_addresses=True)}
    )
    async with AsyncTestClient(app=create_app(allowed), timeout=30) as api:
        yield api


@pytest.fixture(scope="module")
async def strict(settings: FolioSettings) -> AsyncIterator[Client]:
    """The API as deployed by default: private addresses refused."""
    assert settings.webhooks.allow_private_addresses is False
    async with AsyncTestClient(app=create_app(settings), timeout=30) as api:
        yield api


async def _create(client: Client, who: TenantKey, **body: Any) -> dict[str, Any]:
    answer = await client.post(
        "/v1/webhooks",
        headers=who.headers,
        json={"url": "http://127.0.0.1:9/hook", **body},
    )
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


async def test_create_list_change_delete(client: Client, alice: TenantKey) -> None:
    made = await _create(
        client, alice, description="orders", events=["document.ready", "job.failed"]
    )
    secret, hook = made["secret"], made["webhook"]
    assert secret.startswith("whsec_")
    assert len(secret) > 40
    assert hook["events"] == ["document.ready", "job.failed"]
    assert hook["enabled"] is True
    assert hook["disabled_reason"] is None
    assert "secret" not in hook
    listed = (await client.get("/v1/webhooks", headers=alice.headers)).json()["items"]
    assert hook["id"] in [h["id"] for h in listed]
    assert all("secret" not in h for h in listed)

    changed = await client.patch(
        f"/v1/webhooks/{hook['id']}",
        headers=alice.headers,
        json={"events": ["batch.completed"], "enabled": False},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["batch.completed"]
    assert changed.json()["enabled"] is False
    assert changed.json()["description"] == "orders"

    rotated = await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=alice.headers)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != secret

    gone = await client.delete(f"/v1/webhooks/{hook['id']}", headers=alice.headers)
    assert gone.status_code == 204
    problem(
        await client.get(f"/v1/webhooks/{hook['id']}", headers=alice.headers),
        404,
        "webhook_not_found",
    )


async def test_unknown_event_types_are_a_422_naming_them(client: Client, alice: TenantKey) -> None:
    body = problem(
        await client.post(
            "/v1/webhooks",
            headers=alice.headers,
            json={"url": "https://example.com/h", "events": ["document.ready", "doc.redy"]},
        ),
        422,
        "unknown_event_type",
    )
    assert body["unknown"] == ["doc.redy"]
    assert body["known"] == list(EVENT_TYPES)
    made = await _create(client, alice)
    problem(
        await client.patch(
            f"/v1/webhooks/{made['webhook']['id']}",
            headers=alice.headers,
            json={"events": ["job.exploded"]},
        ),
        422,
        "unknown_event_type",
    )


async def test_another_tenants_webhook_is_not_found(
    client: Client, alice: TenantKey, bob: TenantKey
) -> None:
    hook = (await _create(client, alice))["webhook"]["id"]
    for method, path in [
        ("GET", f"/v1/webhooks/{hook}"),
        ("PATCH", f"/v1/webhooks/{hook}"),
        ("DELETE", f"/v1/webhooks/{hook}"),
        ("POST", f"/v1/webhooks/{hook}/rotate-secret"),
        ("GET", f"/v1/webhooks/{hook}/deliveries"),
        ("POST", f"/v1/webhooks/{hook}/deliveries/{uuid.uuid4()}/resend"),
    ]:
        kwargs: dict[str, Any] = {"json": {"enabled": False}} if method == "PATCH" else {}
        answer = await client.request(method, path, headers=bob.headers, **kwargs)
        problem(answer, 404, "webhook_not_found")
    assert hook not in [
        h["id"] for h in (await client.get("/v1/webhooks", headers=bob.headers)).json()["items"]
    ]
    # still alice's, unchanged
    assert (await client.get(f"/v1/webhooks/{hook}", headers=alice.headers)).json()["enabled"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/h",
        "http://10.1.2.3/h",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/h",
        "http://[::ffff:192.168.0.1]/h",
        "http://localhost/h",
        "http://0.0.0.0/h",
    ],
)
async def test_internal_addresses_are_refused_at_registration(
    strict: Client, alice: TenantKey, url: str
) -> None:
    problem(
        await strict.post("/v1/webhooks", headers=alice.headers, json={"url": url}),
        422,
        "webhook_address_refused",
    )


@pytest.mark.parametrize("url", ["ftp://example.com/h", "example.com/h", "http://u:p@x.org/"])
async def test_malformed_urls_are_refused(client: Client, alice: TenantKey, url: str) -> None:
    problem(
        await client.post("/v1/webhooks", headers=alice.headers, json={"url": url}),
        422,
        "invalid_webhook_url",
    )


async def _deliveries(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT event_type, payload FROM webhook_deliveries WHERE tenant_id = :t"
                " ORDER BY created_at"
            ),
            {"t": tenant_id},
        )
        return list(rows.all())


async def _job(engine: AsyncEngine, tenant_id: uuid.UUID) -> uuid.UUID:
    job_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO jobs (id, tenant_id, actor_name, queue_name, status, attempts)"
                " VALUES (:id, :t, 'audio.analyze', 'kinds', 'running', 1)"
            ),
            {"id": job_id, "t": tenant_id},
        )
    return job_id


async def test_the_event_is_written_with_its_state_and_only_then(
    client: Client, engine: AsyncEngine
) -> None:
    # Given a tenant listening for job outcomes only
    carol = await make_tenant(engine, "hooks")
    await _create(client, carol, events=["job.succeeded", "job.failed"])
    job_id = await _job(engine, carol.tenant_id)
    # When a transaction that finishes the job rolls back, no event exists
    async with engine.connect() as conn:
        await conn.execute(
            sa.text("UPDATE jobs SET status = 'succeeded' WHERE id = :id"), {"id": job_id}
        )
        inside = await conn.scalar(
            sa.text("SELECT count(*) FROM webhook_deliveries WHERE tenant_id = :t"),
            {"t": carol.tenant_id},
        )
        await conn.rollback()
    assert inside == 1  # written by the same transaction...
    assert await _deliveries(engine, carol.tenant_id) == []  # ...and gone with it
    # When it commits, the event is there, with the ids a client needs
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE jobs SET status = 'failed', error_type = 'Boom' WHERE id = :id"),
            {"id": job_id},
        )
    [(event_type, payload)] = await _deliveries(engine, carol.tenant_id)
    assert event_type == "job.failed"
    assert payload["type"] == "job.failed"
    assert payload["id"].startswith("evt_")
    assert payload["timestamp"].endswith("Z")
    assert payload["data"]["job_id"] == str(job_id)
    assert payload["data"]["kind"] == "audio.analyze"
    assert payload["data"]["state"] == "failed"
    assert payload["data"]["error_type"] == "Boom"


async def test_filters_and_disabled_endpoints_get_no_event(
    client: Client, engine: AsyncEngine
) -> None:
    dave = await make_tenant(engine, "hooks")
    await _create(client, dave, events=["batch.completed"])
    await _create(client, dave, enabled=False)
    job_id = await _job(engine, dave.tenant_id)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE jobs SET status = 'succeeded' WHERE id = :id"), {"id": job_id}
        )
    assert await _deliveries(engine, dave.tenant_id) == []
