"""Dependency outages at the API's edge: PostgreSQL down is a ``503``
problem naming it, with ``Retry-After``, on every ``/v1`` route (not ``500
internal_error``); an upload that cannot be recorded leaves no stored
object behind; search with Redis down ranks by keywords and says so."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from apikit import TenantKey, api_settings, make_tenant, pdf_bytes
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from support.tcp_proxy import TcpProxy

from folio_api.app import create_app
from folio_devstack.servers import RedisServer
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

Outage = Callable[[], AbstractAsyncContextManager[None]]


@pytest.fixture
async def own_client(settings: FolioSettings) -> AsyncIterator[AsyncTestClient[Any]]:
    """An API of the test's own (its pools see the outage from the start)."""
    async with AsyncTestClient(app=create_app(settings), timeout=30) as client:
        yield client


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def assert_postgres_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit()
    body = response.json()
    assert body["code"] == "dependency_unavailable"
    assert "postgres" in body["detail"].lower()
    assert "127.0.0.1" not in body["detail"]


async def test_postgres_down_answers_503_naming_it_on_every_v1_route(
    own_client: AsyncTestClient[Any], engine: AsyncEngine, database_outage: Outage
) -> None:
    # Given a tenant whose key the API already knows, and one it does not
    known, fresh = await make_tenant(engine, "known"), await make_tenant(engine, "fresh")
    listed = await own_client.get("/v1/documents", headers=known.headers)
    assert listed.status_code == 200
    doc_id, job_id = uuid.uuid4(), uuid.uuid4()
    # When PostgreSQL refuses connections
    async with database_outage():
        for who in (known, fresh):
            for path in (
                "/v1/documents",
                f"/v1/documents/{doc_id}",
                "/v1/jobs",
                f"/v1/jobs/{job_id}",
                "/v1/search?q=invoice&mode=keyword",
            ):
                # Then every route answers 503 naming PostgreSQL, never 500
                assert_postgres_unavailable(await own_client.get(path, headers=who.headers))
            assert_postgres_unavailable(
                await own_client.post(f"/v1/documents/{doc_id}/process", headers=who.headers)
            )
    # And once it is back, the routes answer again
    await engine.dispose()  # the test's own connections were ended too
    assert (await own_client.get("/v1/documents", headers=fresh.headers)).status_code == 200


async def test_an_upload_that_cannot_be_recorded_leaves_no_stored_object(
    tmp_path: Path, database_url: str, engine: AsyncEngine, test_servers: Any
) -> None:
    # Given an API that reaches PostgreSQL through a connection we can cut
    who: TenantKey = await make_tenant(engine, "uploader")
    url = make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(port=proxy.port).render_as_string(hide_password=False)
    settings = api_settings(tmp_path, database_url=through, redis_url=test_servers.redis_url)
    try:
        async with AsyncTestClient(app=create_app(settings), timeout=30) as client:
            assert (await client.get("/v1/documents", headers=who.headers)).status_code == 200
            before = stored_files(settings.storage.local_root)
            # When PostgreSQL goes away (connections closed, new ones refused)
            # and a file is uploaded
            proxy.cut()
            response = await client.post(
                "/v1/documents",
                headers=who.headers,
                files={"file": ("lost.pdf", pdf_bytes("never recorded"), "application/pdf")},
            )
            # Then the client is told to retry, and no stored object is left behind
            assert_postgres_unavailable(response)
            assert stored_files(settings.storage.local_root) == before
            # And once PostgreSQL is back, the same upload is recorded
            proxy.restore()
            again = await client.post(
                "/v1/documents",
                headers=who.headers,
                files={"file": ("lost.pdf", pdf_bytes("never recorded"), "application/pdf")},
            )
            assert again.status_code == 201, again.text
    finally:
        proxy.close()


async def test_search_with_redis_down_ranks_by_keywords_and_says_so(
    tmp_path: Path, database_url: str, engine: AsyncEngine, own_redis: RedisServer
) -> None:
    who = await make_tenant(engine, "searcher")
    settings = api_settings(tmp_path, database_url=database_url, redis_url=own_redis.url)
    async with AsyncTestClient(app=create_app(settings), timeout=30) as client:
        assert (await client.get("/v1/documents", headers=who.headers)).status_code == 200
        # When Redis is down and a client searches (hybrid, the default)
        own_redis.stop()
        response = await client.get("/v1/search", params={"q": "invoice"}, headers=who.headers)
        # Then the search is answered by keyword ranking, and says so
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["mode"] == "keyword"
        assert "keyword" in body["fallback"]
        assert "redis" in body["fallback"].lower()
        # And a semantic search, which cannot do without the query's vector,
        # is a 503 naming Redis
        semantic = await client.get(
            "/v1/search", params={"q": "invoice", "mode": "semantic"}, headers=who.headers
        )
        assert semantic.status_code == 503, semantic.text
        assert semantic.headers["Retry-After"].isdigit()
        assert "redis" in semantic.json()["detail"].lower()
