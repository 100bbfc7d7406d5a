"""The client's retries against the real API: a ``POST`` whose answer is
lost on the way back is sent again with the same ``Idempotency-Key`` and
creates one thing."""

from __future__ import annotations

import asyncio
import io
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from apikit import TenantKey, live_api, make_tenant, pdf_bytes
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.dropping_proxy import DroppingProxy
from support.jobs import finish_as_worker
from support.live_server import LiveServer
from support.plain_kinds import WORK, record_kinds

from folio_client import AsyncFolio, Folio, Retries
from folio_client.retries import Rewind
from folio_shared.db.models import Document, Job
from folio_shared.jobs import events

pytestmark = pytest.mark.integration

FAST = Retries(attempts=4, backoff_s=0.05)


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, test_servers: Any
) -> Iterator[LiveServer]:
    with live_api(
        tmp_path_factory.mktemp("retries"),
        database_url=database_url,
        redis_url=test_servers.redis_url,
    ) as server:
        yield server


@pytest.fixture(scope="module")
async def ines(engine: AsyncEngine) -> TenantKey:
    await record_kinds(engine)
    return await make_tenant(engine, "ines")


def port_of(server: LiveServer) -> int:
    port = urlsplit(server.base_url).port
    assert port is not None
    return port


async def count(engine: AsyncEngine, query: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


def documents_named(tenant: uuid.UUID, filename: str) -> Any:
    return (
        sa.select(sa.func.count())
        .select_from(Document)
        .where(Document.tenant_id == tenant, Document.filename == filename)
    )


async def test_an_upload_whose_answer_is_lost_creates_one_document(
    live: LiveServer, ines: TenantKey, engine: AsyncEngine
) -> None:
    name = f"{uuid.uuid4().hex}.pdf"
    proxy = DroppingProxy(port_of(live), b"POST /v1/documents")
    with proxy.running(), Folio(proxy.base_url, ines.key, retries=FAST) as folio:
        upload = folio.upload(pdf_bytes("lost"), filename=name, process=False)
    assert proxy.dropped == 1
    assert upload.document.filename == name
    assert await count(engine, documents_named(ines.tenant_id, name)) == 1


async def test_without_retries_the_lost_answer_is_an_error_but_the_work_was_done(
    live: LiveServer, ines: TenantKey, engine: AsyncEngine
) -> None:
    # the control of the test above: the proxy does lose an answer the API sent
    name = f"{uuid.uuid4().hex}.pdf"
    proxy = DroppingProxy(port_of(live), b"POST /v1/documents")
    with (
        proxy.running(),
        Folio(proxy.base_url, ines.key, retries=Retries(attempts=1)) as folio,
        pytest.raises(httpx.TransportError),
    ):
        folio.upload(pdf_bytes("lost"), filename=name, process=False)
    assert proxy.dropped == 1
    assert await count(engine, documents_named(ines.tenant_id, name)) == 1


async def test_async_submit_whose_answer_is_lost_creates_one_job(
    live: LiveServer, ines: TenantKey, engine: AsyncEngine
) -> None:
    tag = uuid.uuid4().hex
    proxy = DroppingProxy(port_of(live), b"POST /v1/jobs")
    with proxy.running():
        async with AsyncFolio(proxy.base_url, ines.key, retries=FAST) as folio:
            job = await folio.submit(WORK, {"key": tag}, metadata={"tag": tag})
    assert proxy.dropped == 1
    made = sa.select(sa.func.count()).select_from(Job).where(Job.meta["tag"].astext == tag)
    assert await count(engine, made) == 1
    assert job.id


def test_the_backoff_honours_retry_after_and_grows_with_jitter() -> None:
    policy = Retries(attempts=5, backoff_s=1.0, max_backoff_s=8.0)
    assert policy.delay_s(1, "3") == 3.0
    assert policy.delay_s(1, "999") == 8.0  # capped
    delays = [policy.delay_s(4) for _ in range(200)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert len(set(delays)) > 100  # jittered
    assert max(policy.delay_s(1) for _ in range(200)) <= 1.0
    with pytest.raises(ValueError, match="attempts"):
        Retries(attempts=0)


async def test_wait_for_job_is_not_fooled_by_the_failed_attempt_of_a_retried_job(
    live: LiveServer, ines: TenantKey, database_url: str, test_servers: Any
) -> None:
    async with AsyncFolio(live.base_url, ines.key, retries=FAST) as folio:
        job = await folio.submit(WORK, {"key": uuid.uuid4().hex})

        async def worker() -> None:
            redis = Redis.from_url(test_servers.redis_url)
            try:
                await asyncio.sleep(0.5)
                # an attempt failed and the job was queued again: the feed
                # says failed, the row says it is not finished
                await events.publish(redis, job.id, "state", {"status": "failed"})
                await asyncio.sleep(1.0)
                await finish_as_worker(database_url, redis, job.id, "succeeded")
            finally:
                await redis.aclose()

        thread = threading.Thread(target=asyncio.run, args=(worker(),))
        thread.start()
        try:
            done = await folio.wait_for_job(job.id, timeout_s=30, poll_s=0.2)
        finally:
            thread.join()
    assert done.status == "succeeded"


def test_a_body_is_rewound_before_another_attempt_or_sent_once() -> None:
    seekable = io.BytesIO(b"0123456789")
    seekable.read(4)
    rewind = Rewind({"file": ("a.pdf", seekable, "application/pdf")})
    assert rewind.possible
    seekable.read()
    rewind()
    assert seekable.read() == b"456789"  # back where the first attempt started

    class Pipe(io.RawIOBase):
        def seekable(self) -> bool:
            return False

    assert not Rewind({"file": ("a.pdf", Pipe(), "application/pdf")}).possible
    assert Rewind({"file": ("a.pdf", b"bytes", "application/pdf")}).possible
    assert Rewind(None).possible
