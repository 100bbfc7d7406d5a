"""Redis down at upload: the API still answers 201 with a ``pending`` job, and
its outbox relay sends the job (``queued``) once Redis is back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from apikit import api_settings, make_tenant, pdf_bytes
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.app import create_app
from folio_devstack.ports import pick_port
from folio_devstack.servers import RedisServer
from folio_shared.db.models import Job

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(pick_port(17479), tmp_path / "redis", appendonly=True)
    server.start()
    yield server
    server.stop()


async def job_status(engine: AsyncEngine, job_id: str) -> str:
    async with engine.connect() as conn:
        status = await conn.scalar(sa.select(Job.status).where(Job.id == uuid.UUID(job_id)))
    return str(status)


async def test_uploads_answer_while_redis_is_down_and_jobs_go_out_after(
    tmp_path: Path, database_url: str, engine: AsyncEngine, own_redis: RedisServer
) -> None:
    who = await make_tenant(engine, "outage")
    settings = api_settings(tmp_path, database_url=database_url, redis_url=own_redis.url)
    app = create_app(settings, relay_interval_s=0.5)
    async with AsyncTestClient(app=app, timeout=30) as client:
        up = await client.get("/v1/documents", headers=who.headers)
        assert up.status_code == 200
        own_redis.stop()
        started = time.monotonic()
        responses = [
            await client.post(
                "/v1/documents",
                headers=who.headers,
                files={"file": (f"o{i}.pdf", pdf_bytes(f"outage{i}"), "application/pdf")},
            )
            for i in range(3)
        ]
        elapsed_s = time.monotonic() - started
        for response in responses:
            assert response.status_code == 201, response.text
            assert response.json()["job"]["status"] == "pending"
        assert elapsed_s < 15
        job_ids = [r.json()["job"]["job_id"] for r in responses]
        for job_id in job_ids:
            assert await job_status(engine, job_id) == "pending"
            job = await client.get(f"/v1/jobs/{job_id}", headers=who.headers)
            assert job.status_code == 200
            assert job.json()["status"] == "pending"
        own_redis.start()
        deadline = time.monotonic() + 20
        statuses: list[str] = []
        while time.monotonic() < deadline:
            statuses = [await job_status(engine, j) for j in job_ids]
            if statuses == ["queued"] * 3:
                break
            time.sleep(0.2)  # the relay runs in the app's own loop (test client thread)
        assert statuses == ["queued"] * 3
        from redis.asyncio import Redis

        redis = Redis.from_url(own_redis.url)
        try:
            queued = await redis.llen(f"{settings.broker.namespace}:documents")
        finally:
            await redis.aclose()
        assert queued == 3
