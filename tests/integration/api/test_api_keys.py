"""``/v1/keys``: a tenant rotates its key without downtime: creates a second
one, switches to it, revokes the first, which stops working within the key
cache's lifetime."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from apikit import TenantKey, make_tenant, problem
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.app import create_app
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

#: The key cache's lifetime of this test's API, in seconds.
TTL_S = 1.0


@pytest.fixture(scope="module")
async def api(settings: FolioSettings) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings, key_cache_ttl_s=TTL_S)
    async with AsyncTestClient(app=app, timeout=30) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_rotation_create_switch_revoke(
    api: AsyncTestClient[Any], engine: AsyncEngine
) -> None:
    first = await make_tenant(engine, "rota")
    made = await api.post("/v1/keys", headers=first.headers, json={"name": "deploy 2"})
    assert made.status_code == 201, made.text
    second, second_row = made.json()["key"], made.json()["api_key"]
    assert second.startswith("folio_")
    assert second_row["name"] == "deploy 2"
    # both work meanwhile
    for key in (first.key, second):
        assert (await api.get("/v1/documents", headers=bearer(key))).status_code == 200
    listed = (await api.get("/v1/keys", headers=bearer(second))).json()["items"]
    assert [k["current"] for k in listed] == [False, True]
    assert all("key" not in k and "key_hash" not in k for k in listed)
    first_id = listed[0]["id"]
    revoked = await api.delete(f"/v1/keys/{first_id}", headers=bearer(second))
    assert revoked.status_code == 204
    started = time.monotonic()
    while (await api.get("/v1/documents", headers=first.headers)).status_code != 401:
        assert time.monotonic() - started < TTL_S + 1.0, "the revoked key still works"
        await asyncio.sleep(0.1)
    assert (await api.get("/v1/documents", headers=bearer(second))).status_code == 200
    listed = (await api.get("/v1/keys", headers=bearer(second))).json()["items"]
    assert listed[0]["revoked_at"] is not None
    assert listed[1]["revoked_at"] is None


async def test_the_last_key_cannot_be_revoked(
    api: AsyncTestClient[Any], engine: AsyncEngine
) -> None:
    only = await make_tenant(engine, "solo")
    me = (await api.get("/v1/keys", headers=only.headers)).json()["items"]
    assert len(me) == 1
    assert me[0]["current"]
    problem(await api.delete(f"/v1/keys/{me[0]['id']}", headers=only.headers), 409, "last_key")
    assert (await api.get("/v1/documents", headers=only.headers)).status_code == 200


async def test_another_tenants_key_is_not_found(
    api: AsyncTestClient[Any], alice: TenantKey, bob: TenantKey
) -> None:
    await api.post("/v1/keys", headers=bob.headers, json={"name": "spare"})
    bobs = (await api.get("/v1/keys", headers=bob.headers)).json()["items"]
    for key in bobs:
        problem(
            await api.delete(f"/v1/keys/{key['id']}", headers=alice.headers), 404, "key_not_found"
        )
    alices = (await api.get("/v1/keys", headers=alice.headers)).json()["items"]
    assert not {k["id"] for k in alices} & {k["id"] for k in bobs}
    problem(
        await api.post("/v1/keys", headers=alice.headers, json={"name": ""}), 400, "invalid_input"
    )
