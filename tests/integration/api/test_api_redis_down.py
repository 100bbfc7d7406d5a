"""Redis down at upload: the API still answers 201 with a ``pending`` job, and
its outbox relay sends the job (``queued``) once Redis is back."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from apikit import api_settings, make_tenant, pdf_bytes
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.app import create_app
from folio_devstack.servers import RedisServer
from folio_shared.db.models import Job

pytestmark = pytest.mark.integration


async def job_status(engine: AsyncEngine, job_id: str) -> str:
    async with engine.connect() as conn:
        status = await conn.scalar(sa.select(Job.status).where(Job.id == uuid.UUID(job_id)))
    return str(status)


async def statuses_after(
    engine: AsyncEngine, job_ids: list[str], timeout_s: float = 20
) -> list[str]:
    """The jobs' statuses once all are ``queued`` (or at the timeout)."""
    deadline = time.monotonic() + timeout_s
    statuses: list[str] = []
    while time.monotonic() < deadline:
        statuses = [await job_status(engine, j) for j in job_ids]
        if statuses == ["queued"] * len(job_ids):
            break
        time.sleep(0.2)  # the relay runs in the app's own loop (test client thread)
    return statuses


async def documents_queued(redis_url: str, namespace: str) -> int:
    """Messages waiting on the ``documents`` queue."""
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        return int(await redis.llen(f"{namespace}:documents"))
    finally:
        await redis.aclose()


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
        assert await statuses_after(engine, job_ids) == ["queued"] * 3
        queued = await documents_queued(own_redis.url, settings.broker.namespace)
        assert queued == 3


async def test_process_answers_while_redis_is_down_and_the_job_goes_out_after(
    tmp_path: Path, database_url: str, engine: AsyncEngine, own_redis: RedisServer
) -> None:
    who = await make_tenant(engine, "outage-process")
    settings = api_settings(tmp_path, database_url=database_url, redis_url=own_redis.url)
    app = create_app(settings, relay_interval_s=0.5)
    async with AsyncTestClient(app=app, timeout=30) as client:
        stored = await client.post(
            "/v1/documents",
            headers=who.headers,
            params={"process": "false"},
            files={"file": ("p.pdf", pdf_bytes("outage-process"), "application/pdf")},
        )
        assert stored.status_code == 201, stored.text
        doc_id = stored.json()["document"]["id"]
        own_redis.stop()
        response = await client.post(f"/v1/documents/{doc_id}/process", headers=who.headers)
        assert response.status_code == 202, response.text
        job_id = response.json()["job"]["job_id"]
        assert response.json()["job"]["status"] == "pending"
        assert await job_status(engine, job_id) == "pending"
        own_redis.start()
        assert await statuses_after(engine, [job_id]) == ["queued"]
        assert await documents_queued(own_redis.url, settings.broker.namespace) == 1
