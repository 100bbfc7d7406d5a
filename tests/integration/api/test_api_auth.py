"""API keys, key kinds, rate limits and tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, api_settings, make_tenant, pdf_bytes, problem
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from support.windows import fresh_window

from folio_api.app import create_app
from folio_shared.db.models import ApiKey
from folio_shared.security import generate_api_key

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-folio-key",
        # well formed, unknown (ids: a key drawn at collection differs per process)
        pytest.param("Bearer " + generate_api_key()[0], id="bearer-unknown-key"),
        pytest.param("Token " + generate_api_key()[0], id="token-scheme"),
    ],
)
async def test_v1_routes_need_a_valid_key(client: Client, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in (
        ("get", "/v1/documents"),
        ("get", f"/v1/documents/{uuid.uuid4()}"),
        ("post", "/v1/uploads"),
        ("get", "/v1/jobs"),
        ("get", f"/v1/jobs/{uuid.uuid4()}/events"),
    ):
        response = await getattr(client, method)(path, headers=headers)
        problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_operator_key_cannot_use_tenant_routes(client: Client, operator_key: str) -> None:
    response = await client.get(
        "/v1/documents", headers={"Authorization": f"Bearer {operator_key}"}
    )
    problem(response, 403, "forbidden")


async def test_operator_guard_admits_operators_only(
    settings: Any, operator_key: str, alice: TenantKey
) -> None:
    from litestar import Router, get

    from folio_api.domain.auth.guards import operator_guard

    @get("/whoami", sync_to_thread=False)
    def whoami() -> dict[str, str]:
        return {"ok": "operator"}

    app = create_app(settings)
    app.register(Router("/v1/ops", route_handlers=[whoami], guards=[operator_guard]))
    async with AsyncTestClient(app=app) as client:
        ok = await client.get("/v1/ops/whoami", headers={"Authorization": f"Bearer {operator_key}"})
        denied = await client.get("/v1/ops/whoami", headers=alice.headers)
        anonymous = await client.get("/v1/ops/whoami")
    assert ok.status_code == 200
    assert ok.json() == {"ok": "operator"}
    problem(denied, 403, "forbidden")
    problem(anonymous, 401, "unauthorized")


async def test_revoked_key_stops_working_after_the_cache_ttl(
    settings: Any, engine: AsyncEngine
) -> None:
    dave = await make_tenant(engine, "dave")
    app = create_app(settings, key_cache_ttl_s=0.2)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/v1/documents", headers=dave.headers)).status_code == 200
        async with engine.begin() as conn:
            await conn.execute(
                sa.update(ApiKey)
                .where(ApiKey.tenant_id == dave.tenant_id)
                .values(revoked_at=sa.func.now())
            )
        import asyncio

        await asyncio.sleep(0.3)
        problem(await client.get("/v1/documents", headers=dave.headers), 401, "unauthorized")


async def test_rate_limit_is_per_key_with_retry_after(
    tmp_path: Any, database_url: str, test_servers: Any, engine: AsyncEngine
) -> None:
    erin = await make_tenant(engine, "erin")
    frank = await make_tenant(engine, "frank")
    settings = api_settings(
        tmp_path,
        database_url=database_url,
        redis_url=test_servers.redis_url,
        rate_limit_per_minute=5,
    )
    # two app instances = two replicas sharing the limit through Redis
    async with (
        AsyncTestClient(app=create_app(settings)) as one,
        AsyncTestClient(app=create_app(settings)) as two,
    ):
        await fresh_window(margin_s=5)  # all ten requests count in one window
        statuses = []
        for i in range(8):
            client = one if i % 2 else two
            statuses.append((await client.get("/v1/documents", headers=erin.headers)).status_code)
        limited = await one.get("/v1/documents", headers=erin.headers)
        other = await one.get("/v1/documents", headers=frank.headers)
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429] * 3
    problem(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    assert other.status_code == 200


async def test_second_tenant_gets_404_everywhere(
    client: Client, alice: TenantKey, bob: TenantKey
) -> None:
    r = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files={"file": ("secret.pdf", pdf_bytes("iso"), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    doc_id, job_id = r.json()["document"]["id"], r.json()["job"]["job_id"]
    routes = [
        ("get", f"/v1/documents/{doc_id}", "document_not_found"),
        ("get", f"/v1/documents/{doc_id}/text", "document_not_found"),
        ("get", f"/v1/documents/{doc_id}/chunks", "document_not_found"),
        ("get", f"/v1/documents/{doc_id}/file", "document_not_found"),
        ("post", f"/v1/documents/{doc_id}/process", "document_not_found"),
        ("delete", f"/v1/documents/{doc_id}", "document_not_found"),
        ("get", f"/v1/jobs/{job_id}", "job_not_found"),
        ("get", f"/v1/jobs/{job_id}/events", "job_not_found"),
        ("post", f"/v1/jobs/{job_id}/cancel", "job_not_found"),
        ("post", f"/v1/jobs/{job_id}/retry", "job_not_found"),
    ]
    for method, path, code in routes:
        problem(await getattr(client, method)(path, headers=bob.headers), 404, code)
    listed = await client.get("/v1/documents", headers=bob.headers, params={"limit": 100})
    assert doc_id not in {d["id"] for d in listed.json()["items"]}
    jobs = await client.get("/v1/jobs", headers=bob.headers, params={"limit": 100})
    assert job_id not in {j["id"] for j in jobs.json()["items"]}
    by_doc = await client.get("/v1/jobs", headers=bob.headers, params={"document_id": doc_id})
    assert by_doc.json()["items"] == []
    # and alice still has everything
    assert (await client.get(f"/v1/documents/{doc_id}", headers=alice.headers)).status_code == 200
    assert (await client.get(f"/v1/jobs/{job_id}", headers=alice.headers)).status_code == 200
