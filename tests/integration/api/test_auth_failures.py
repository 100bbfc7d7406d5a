"""Failed authentication is rate-limited per client address: random
well-formed keys from one address stop reaching the database after the
limit (429 with ``Retry-After``), whoever the replica. Real Redis and
PostgreSQL; the refused requests are shown not to reach the database by
running them while it is down."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from apikit import api_settings, make_tenant, problem
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from support.windows import fresh_window

from folio_api.app import create_app
from folio_shared.security import generate_api_key

pytestmark = pytest.mark.integration

LIMIT = 5


def _random_key() -> dict[str, str]:
    return {"Authorization": f"Bearer {generate_api_key()[0]}"}


async def test_random_keys_are_refused_before_the_database_past_the_limit(
    tmp_path: Path,
    database_url: str,
    test_servers: Any,
    engine: AsyncEngine,
    database_outage: Callable[[], AbstractAsyncContextManager[None]],
) -> None:
    settings = api_settings(
        tmp_path,
        database_url=database_url,
        redis_url=test_servers.redis_url,
        auth_failures_per_minute=LIMIT,
    )
    alice = await make_tenant(engine, "alice")
    async with (
        AsyncTestClient(app=create_app(settings)) as client,
        AsyncTestClient(app=create_app(settings)) as replica,
    ):
        # Given a client that sent LIMIT random well-formed keys, each
        # looked up and refused (all in one window: its edge resets the count)
        await fresh_window(margin_s=5)
        for _ in range(LIMIT):
            problem(await client.get("/v1/documents", headers=_random_key()), 401, "unauthorized")

        async with database_outage():
            # When it goes on from the same address, while the database is down
            refused = [await client.get("/v1/documents", headers=_random_key()) for _ in range(20)]
            # Then it gets 429 with Retry-After: the database was not asked
            for response in refused:
                body = problem(response, 429, "rate_limited")
                assert "failed authentications" in body["detail"]
                assert 1 <= int(response.headers["retry-after"]) <= 60
            # A valid key from that address waits too (the address misbehaves)
            problem(await client.get("/v1/documents", headers=alice.headers), 429, "rate_limited")
            # (a replica that has not seen the address fail does ask the database)
            assert (await replica.get("/v1/documents", headers=_random_key())).status_code >= 500

        # And another replica refuses the address at its next failure there
        problem(await replica.get("/v1/documents", headers=_random_key()), 401, "unauthorized")
        problem(await replica.get("/v1/documents", headers=_random_key()), 429, "rate_limited")
