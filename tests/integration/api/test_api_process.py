"""``POST /v1/documents/{id}/process`` on a stored document: the one-statement
path (:mod:`folio_api.domain.documents.fast.queueing`) against the real
PostgreSQL and Redis: what it writes, what it sends, the message it builds
from the document row, racing requests, and a process that dies between
the insert and the send."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from apikit import TenantKey, pdf_bytes, queued_messages
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.domain.documents import processing
from folio_api.domain.documents.fast import queueing
from folio_api.domain.documents.fast.process import process_ask
from folio_shared.broker import create_broker
from folio_shared.db.engine import asyncpg_dsn
from folio_shared.db.models import Document, Job, JobEvent
from folio_shared.jobs import outbox, pointers, reconcile
from folio_shared.messages import Priority
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


async def stored_document(client: Client, who: TenantKey, tag: str) -> str:
    r = await client.post(
        "/v1/documents",
        headers=who.headers,
        params={"process": "false"},
        files={"file": (f"{tag}.pdf", pdf_bytes(tag), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["document"]["id"])


def _ask(settings: FolioSettings, who: TenantKey, doc_id: str, **options: Any) -> queueing.Ask:
    """What the API asks the statement for, to process ``doc_id``."""
    return process_ask(settings, who.tenant_id, uuid.UUID(doc_id), **options)


async def test_process_writes_the_job_queued_and_sends_it_once_with_its_pointer(
    client: Client, alice: TenantKey, engine: AsyncEngine, redis: Redis, settings: FolioSettings
) -> None:
    doc_id = await stored_document(client, alice, "fast-one")
    r = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
    assert r.status_code == 202, r.text
    body = r.json()
    job_id = body["job"]["job_id"]
    assert body["job"]["status"] == "queued"
    assert body["document"]["status"] == "queued"
    assert body["document"]["latest_job"]["id"] == job_id

    async with engine.connect() as conn:
        job = (await conn.execute(sa.select(Job).where(Job.id == uuid.UUID(job_id)))).one()
        events = (
            await conn.execute(
                sa.select(JobEvent.status, JobEvent.data)
                .where(JobEvent.job_id == job.id)
                .order_by(JobEvent.id)
            )
        ).all()
        doc_status = await conn.scalar(
            sa.select(Document.status).where(Document.id == uuid.UUID(doc_id))
        )
    assert job.status == "queued"
    assert job.sent_at is not None
    assert job.queued_at is not None
    assert job.actor_name == "docs.process"
    assert job.message["payload"]["document_id"] == doc_id
    assert [e.status for e in events] == ["pending", "queued"]
    assert events[1].data == {"message_id": job.message_id}
    assert doc_status == "queued"

    ns = settings.broker.namespace
    sent = [
        (rid, m)
        for rid, m in (await queued_messages(redis, ns, job.queue_name)).items()
        if m["options"].get("job_id") == job_id
    ]
    assert len(sent) == 1
    rid, message = sent[0]
    assert message["message_id"] == job.message_id
    assert message["actor_name"] == "docs.process"
    assert message["args"][0]["document_id"] == doc_id
    pointer = await redis.get(pointers.message_pointer_key(ns, job_id))
    assert pointer is not None
    assert pointer.decode() == rid
    assert await redis.ttl(pointers.message_pointer_key(ns, job_id)) > 0


async def test_racing_process_requests_queue_exactly_one_job(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    doc_id = await stored_document(client, alice, "fast-race")
    responses = await asyncio.gather(
        *[client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers) for _ in range(20)]
    )
    assert {r.status_code for r in responses} == {202}
    job_ids = {r.json()["job"]["job_id"] for r in responses}
    assert len(job_ids) == 1
    async with engine.connect() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count()).select_from(Job).where(Job.document_id == uuid.UUID(doc_id))
        )
    assert count == 1


async def test_another_tenant_gets_404_and_nothing_is_queued(
    client: Client, alice: TenantKey, bob: TenantKey, engine: AsyncEngine
) -> None:
    doc_id = await stored_document(client, alice, "fast-tenant")
    r = await client.post(f"/v1/documents/{doc_id}/process", headers=bob.headers)
    assert r.status_code == 404
    assert r.json()["code"] == "document_not_found"
    missing = await client.post(f"/v1/documents/{uuid.uuid4()}/process", headers=alice.headers)
    assert missing.status_code == 404
    async with engine.connect() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count()).select_from(Job).where(Job.document_id == uuid.UUID(doc_id))
        )
    assert count == 0


async def test_a_job_written_but_never_sent_is_sent_by_the_reconciler(
    client: Client,
    alice: TenantKey,
    engine: AsyncEngine,
    redis: Redis,
    settings: FolioSettings,
) -> None:
    """The process died between the insert and the send: the job is
    ``queued`` with no message in Redis; the reconciler sends it."""
    doc_id = await stored_document(client, alice, "fast-crash")
    dsn = asyncpg_dsn(settings.database.url)
    conn = await asyncpg.connect(dsn)
    try:
        await queueing.init_connection(conn)
        ask = _ask(settings, alice, doc_id)
        job_id = ask.job_id
        queued = (await queueing.queue(conn, [ask]))[uuid.UUID(doc_id)]
        job = queued.new
        assert job is not None
        assert job.status == "queued"
        assert queued.document.status == "queued"
        env = job.message
        assert env is not None
        # asked again (another request): the job just written is the active one
        again = (await queueing.queue(conn, [_ask(settings, alice, doc_id)]))[uuid.UUID(doc_id)]
        assert again.new is None
        assert again.active is not None
        assert again.active.id == job_id
    finally:
        await conn.close()

    ns = settings.broker.namespace
    queue = env["queue"]

    def mine(messages: dict[str, dict[str, Any]]) -> list[str]:
        return [r for r, m in messages.items() if m["options"].get("job_id") == str(job_id)]

    assert mine(await queued_messages(redis, ns, queue)) == []
    broker = create_broker(settings)
    try:
        async with engine.connect() as sa_conn:
            report = await reconcile.reconcile(sa_conn, redis, broker, lost_after_s=0.0)
    finally:
        broker.close()
    assert report.lost_resent >= 1
    assert len(mine(await queued_messages(redis, ns, queue))) == 1
    # and the API now answers that job for the document
    r = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
    assert r.json()["job"]["job_id"] == str(job_id)


async def test_an_upload_records_its_jobs_message_pointer(
    client: Client, alice: TenantKey, redis: Redis, settings: FolioSettings
) -> None:
    """Uploads send through the outbox on the API's broker: the pointer to
    the message is recorded there too, so the reconciler never takes a job
    waiting in a long queue for lost."""
    r = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files={"file": ("ptr.pdf", pdf_bytes("pointer"), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    job_id = r.json()["job"]["job_id"]
    ns = settings.broker.namespace
    pointer = await redis.get(pointers.message_pointer_key(ns, job_id))
    assert pointer is not None
    sent = await queued_messages(redis, ns, "documents")
    assert sent[pointer.decode()]["options"]["job_id"] == job_id


@pytest.mark.parametrize(
    ("size_bytes", "content_type", "options"),
    [
        (1000, "application/pdf", {}),
        (None, None, {"priority": Priority.HIGH, "force_ocr": True, "ocr_languages": "eng+por"}),
        (10**12, "", {"priority": Priority.LOW}),
    ],
    ids=["small", "unknown-size-and-type", "large"],
)
async def test_the_statement_writes_the_message_the_orm_path_writes(
    client: Client,
    alice: TenantKey,
    engine: AsyncEngine,
    settings: FolioSettings,
    size_bytes: int | None,
    content_type: str | None,
    options: dict[str, Any],
) -> None:
    """The fast path completes its message from the document row in SQL
    (``PAYLOAD_FROM_DOCUMENT``, the queue by size); the ORM path builds it
    in Python. Both must write the same message for the same document."""
    doc_id = await stored_document(client, alice, f"same-message-{size_bytes}")
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(Document)
            .where(Document.id == uuid.UUID(doc_id))
            .values(size_bytes=size_bytes, content_type=content_type)
        )
    conn_pg = await asyncpg.connect(asyncpg_dsn(settings.database.url))
    try:
        await queueing.init_connection(conn_pg)
        ask = _ask(settings, alice, doc_id, **options)
        queued = (await queueing.queue(conn_pg, [ask]))[uuid.UUID(doc_id)]
    finally:
        await conn_pg.close()
    assert queued.new is not None
    # the ORM path's message for the document as it was read
    document = queued.document
    process = processing.ProcessOptions(
        options.get("priority", Priority.NORMAL),
        options.get("force_ocr", False),
        options.get("ocr_languages"),
    )
    expected = outbox.envelope(
        processing.process_message(document, ask.job_id, process),
        priority=process.priority,
        queue=processing.queue_of(settings, document),
    )
    assert queued.new.message == expected
    assert queued.new.queue_name == expected["queue"]
    assert queued.new.message_id == ask.message_id
