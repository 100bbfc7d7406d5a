"""The client's retries against the API's own refusals, on a real stack:
the rate limiter's ``429`` and the ``503`` of a PostgreSQL outage. The
client waits as ``Retry-After`` says (not its short backoff), sends the
``POST`` again with the same ``Idempotency-Key``, and one job is made."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from apikit import TenantKey, api_settings, make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine
from support.live_server import LiveServer, serve
from support.plain_kinds import WORK, record_kinds
from support.windows import fresh_window, seconds_left

from folio_client import AsyncFolio, Retries
from folio_shared.db.models import Job

pytestmark = pytest.mark.integration

#: Requests per minute of the strict server's keys.
LIMIT = 3
#: Retries whose own backoff is far shorter than any Retry-After the API sends.
SHORT = Retries(attempts=4, backoff_s=0.05, max_backoff_s=61.0)


def _server(tmp: Any, database_url: str, redis_url: str, **limits: int) -> Iterator[LiveServer]:
    with serve(
        lambda base_url: api_settings(
            tmp, database_url=database_url, redis_url=redis_url, public_base_url=base_url, **limits
        )
    ) as server:
        yield server


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, test_servers: Any
) -> Iterator[LiveServer]:
    yield from _server(tmp_path_factory.mktemp("backoff"), database_url, test_servers.redis_url)


@pytest.fixture(scope="module")
def strict(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, test_servers: Any
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("strict")
    yield from _server(tmp, database_url, test_servers.redis_url, rate_limit_per_minute=LIMIT)


@pytest.fixture(scope="module")
async def kira(engine: AsyncEngine) -> TenantKey:
    await record_kinds(engine)
    return await make_tenant(engine, "kira")


Exchange = tuple[float, int, str | None, str | None]


class Exchanges:
    """Every answer the client got: time, status, the request's
    Idempotency-Key and the answer's Retry-After."""

    def __init__(self) -> None:
        self.seen: list[Exchange] = []

    async def __call__(self, response: httpx.Response) -> None:
        key = response.request.headers.get("idempotency-key")
        told = response.headers.get("retry-after")
        self.seen.append((time.monotonic(), response.status_code, key, told))

    def posts(self) -> list[Exchange]:
        return [e for e in self.seen if e[2] is not None]

    def http(self, base_url: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base_url, event_hooks={"response": [self]})


async def jobs_tagged(engine: AsyncEngine, tag: str) -> int:
    query = sa.select(sa.func.count()).select_from(Job).where(Job.meta["tag"].astext == tag)
    async with engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


def assert_waited_as_told(posts: list[Exchange], refused: int) -> float:
    """One refusal with ``refused``, then the same POST again with the same
    key, no sooner than the refusal's Retry-After, answered 202; that wait."""
    (t0, first, key0, told), (t1, second, key1, _) = posts
    assert (first, second) == (refused, 202)
    assert key1 == key0
    assert told is not None
    assert t1 - t0 >= float(told) - 0.1
    return float(told)


async def test_a_429_is_waited_out_as_retry_after_says_and_makes_one_job(
    strict: LiveServer, kira: TenantKey, engine: AsyncEngine
) -> None:
    tag = uuid.uuid4().hex
    await fresh_window(margin_s=10)  # the limit is spent and refused in one window
    exchanges = Exchanges()
    async with AsyncFolio(
        strict.base_url, kira.key, retries=SHORT, http=exchanges.http(strict.base_url)
    ) as folio:
        for _ in range(LIMIT):
            await folio.keys()  # the key's whole minute
        left, asked = seconds_left(), time.monotonic()
        job = await folio.submit(WORK, {"key": tag}, metadata={"tag": tag})
    told = assert_waited_as_told(exchanges.posts(), 429)
    # Retry-After: until the key's minute ends, as the API saw it between
    # the ask and the answer (rounded up), however slow that trip was
    answered = exchanges.posts()[0][0]
    assert left - (answered - asked) - 0.1 <= told <= left + 1
    assert job.status in ("queued", "pending")
    assert await jobs_tagged(engine, tag) == 1


async def test_a_503_of_a_postgres_outage_is_retried_after_it_and_makes_one_job(
    live: LiveServer,
    kira: TenantKey,
    engine: AsyncEngine,
    database_outage: Callable[[], AbstractAsyncContextManager[None]],
) -> None:
    tag = uuid.uuid4().hex
    exchanges = Exchanges()
    async with AsyncFolio(
        live.base_url, kira.key, retries=SHORT, http=exchanges.http(live.base_url)
    ) as folio:
        await folio.keys()  # the API knows the key: the outage hits the POST itself
        async with database_outage():
            submitted = asyncio.create_task(folio.submit(WORK, {"key": tag}, metadata={"tag": tag}))
            while not any(e[1] == 503 for e in exchanges.seen):
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
        job = await submitted
    assert assert_waited_as_told(exchanges.posts(), 503) >= 1  # not the 0.05 s backoff
    assert job.status in ("queued", "pending")
    await engine.dispose()  # the outage ended this test's own connections too
    assert await jobs_tagged(engine, tag) == 1
