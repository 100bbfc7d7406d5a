"""``POST /v1/documents``'s rows: one statement (:data:`~folio_api.domain.
documents.fast.queueing.STORE`) writes the document and its queued job, then the
message goes out with the batcher's sends; a statement whose connection
fails falls back to the ORM path, which answers the upload's own document
if the statement had written it. Against the real PostgreSQL and Redis."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, queued_messages, text_bytes
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio_api.domain.documents import processing
from folio_api.domain.documents.fast import queueing
from folio_shared.db.models import Document, Job, JobEvent
from folio_shared.jobs import outbox
from folio_shared.messages import Priority
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


async def upload_text(
    client: Client, who: TenantKey, data: bytes, params: dict[str, str] | None = None
) -> Any:
    return await client.post(
        "/v1/documents",
        headers=who.headers,
        params=params or {},
        files={"file": ("notes.txt", data, "text/plain")},
        data={"metadata": json.dumps({"source": "scanner-7", "n": 3})},
    )


async def rows(engine: AsyncEngine, document_id: str) -> tuple[Any, list[Any], list[Any]]:
    """The document row, its jobs and their events."""
    async with AsyncSession(engine) as session:
        document = await session.get_one(Document, uuid.UUID(document_id))
        jobs = (await session.scalars(sa.select(Job).where(Job.document_id == document.id))).all()
        events = (
            await session.execute(
                sa.select(JobEvent.job_id, JobEvent.status, JobEvent.data)
                .where(JobEvent.job_id.in_([j.id for j in jobs]))
                .order_by(JobEvent.id)
            )
        ).all()
    return document, list(jobs), list(events)


async def test_an_upload_writes_document_job_and_events_in_one_transaction(
    client: Client, alice: TenantKey, engine: AsyncEngine, redis: Redis, settings: FolioSettings
) -> None:
    data = text_bytes()
    r = await upload_text(client, alice, data, {"priority": "high"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["duplicate"] is False
    assert body["document"]["status"] == "queued"
    assert body["document"]["metadata"] == {"source": "scanner-7", "n": 3}
    assert body["job"]["status"] == "queued"

    document, jobs, events = await rows(engine, body["document"]["id"])
    assert document.status == "queued"
    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert document.size_bytes == len(data)
    assert document.kind == "text"
    assert document.meta == {"source": "scanner-7", "n": 3}
    assert document.storage_key.startswith(f"tenants/{alice.tenant_id}/documents/")
    (job,) = jobs
    assert str(job.id) == body["job"]["job_id"]
    # one statement: PostgreSQL's now() is the transaction's start time
    assert job.created_at == job.sent_at == job.queued_at == document.created_at
    assert job.status == "queued"
    assert job.priority == "high"
    assert job.max_retries == settings.jobs.max_retries
    # the message the ORM path builds for this document
    options = processing.ProcessOptions(Priority.HIGH, False, None)
    expected = outbox.envelope(
        processing.process_message(document, job.id, options),
        priority=Priority.HIGH,
        queue=processing.queue_of(settings, document),
    )
    assert job.message == expected
    assert job.queue_name == expected["queue"]
    assert [(e.status, e.data) for e in events] == [
        ("pending", {}),
        ("queued", {"message_id": job.message_id}),
    ]
    sent = [
        m
        for m in (await queued_messages(redis, settings.broker.namespace, job.queue_name)).values()
        if m["options"].get("job_id") == str(job.id)
    ]
    assert len(sent) == 1
    assert sent[0]["message_id"] == job.message_id
    assert sent[0]["args"][0] == expected["payload"]


async def test_an_upload_not_processed_writes_no_job(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    r = await upload_text(client, alice, text_bytes(), {"process": "false"})
    assert r.status_code == 201, r.text
    assert r.json()["job"] is None
    document, jobs, _ = await rows(engine, r.json()["document"]["id"])
    assert document.status == "uploaded"
    assert jobs == []


@pytest.mark.parametrize("fails", ["before-writing", "after-writing"])
async def test_a_lost_statement_connection_falls_back_and_loses_nothing(
    client: Client,
    alice: TenantKey,
    engine: AsyncEngine,
    redis: Redis,
    settings: FolioSettings,
    store_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    fails: str,
) -> None:
    """The connection fails before the statement ran, or after it ran and
    committed (the answer lost): either way the client gets its new
    document (201), once, with its file kept and its job sent once."""
    real_store = queueing.store
    calls = []

    async def failing_store(conn: Any, upload: queueing.Upload) -> Any:
        calls.append(upload.document_id)
        if fails == "after-writing":
            await real_store(conn, upload)
        raise ConnectionResetError("connection lost")

    monkeypatch.setattr(queueing, "store", failing_store)
    data = text_bytes()
    r = await upload_text(client, alice, data)
    monkeypatch.undo()

    assert calls, "the upload did not take the one-statement path"
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["duplicate"] is False
    assert body["job"]["status"] == "queued"
    async with engine.connect() as conn:
        same = (
            await conn.execute(
                sa.select(Document.id).where(
                    Document.tenant_id == alice.tenant_id,
                    Document.sha256 == hashlib.sha256(data).hexdigest(),
                )
            )
        ).all()
    assert [str(d.id) for d in same] == [body["document"]["id"]]
    document, jobs, _ = await rows(engine, body["document"]["id"])
    assert [str(j.id) for j in jobs] == [body["job"]["job_id"]]
    assert (store_root / "objects" / document.storage_key).is_file()
    r = await client.get(f"/v1/documents/{document.id}/file", headers=alice.headers)
    assert r.content == data
    sent = [
        m
        for m in (await queued_messages(redis, settings.broker.namespace, "documents")).values()
        if m["options"].get("job_id") == body["job"]["job_id"]
    ]
    assert len(sent) == 1
    assert sent[0]["message_id"] == jobs[0].message_id


REFUSED_NAME = "refused-by-the-database.txt"


async def test_an_upload_the_database_refuses_keeps_no_object(
    client: Client, alice: TenantKey, engine: AsyncEngine, store_root: Path
) -> None:
    """The statement fails with an error of the database's (a trigger
    refuses this one file name): nothing was written, so the stored file
    is removed at once instead of waiting for the orphan sweep."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "CREATE FUNCTION refuse_upload() RETURNS trigger LANGUAGE plpgsql AS $$"
                f" BEGIN IF NEW.filename = '{REFUSED_NAME}' THEN"
                " RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$"
            )
        )
        await conn.execute(
            sa.text(
                "CREATE TRIGGER refuse_upload BEFORE INSERT ON documents"
                " FOR EACH ROW EXECUTE FUNCTION refuse_upload()"
            )
        )
    try:
        before = sorted((store_root / "objects").rglob("*"))
        data = text_bytes()
        r = await client.post(
            "/v1/documents",
            headers=alice.headers,
            files={"file": (REFUSED_NAME, data, "text/plain")},
        )
        assert r.status_code == 500, r.text
        assert r.json()["code"] == "internal_error"
        after = sorted((store_root / "objects").rglob("*"))
        assert [p for p in after if p.is_file()] == [p for p in before if p.is_file()]
        async with engine.connect() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(Document)
                .where(Document.sha256 == hashlib.sha256(data).hexdigest())
            )
        assert count == 0
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP TRIGGER refuse_upload ON documents"))
            await conn.execute(sa.text("DROP FUNCTION refuse_upload()"))
