"""Workers read a document's file only as its row recorded it.

A real worker-docs (its own entry module and middleware) against the test
Redis and PostgreSQL; documents arrive through the real API. The stored
object is then swapped behind the row's back (as a second PUT to an S3
presigned URL would), or a message names another document's key (as a
re-drive with altered options would): the job fails with a readable
reason and no text of the wrong bytes is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from e2ekit import Api, job_done, new_tenant, process, start_worker

from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document, Page
from folio_shared.jobs import outbox
from folio_shared.messages import ProcessDocumentV1
from folio_shared.settings import FolioSettings
from folio_shared.storage import create_storage

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def workers(settings: FolioSettings, tmp_path_factory: Any) -> Iterator[None]:
    worker = start_worker(settings, "docs", tmp_path_factory.mktemp("logs"), threads=1)
    yield
    worker.terminate(timeout_s=30)
    worker.close()


async def upload(api: Api, text: bytes) -> tuple[uuid.UUID, str]:
    """A text document stored (not processed): its id and storage key."""
    answer = await api.client.post(
        "/v1/documents",
        params={"process": "false"},
        headers=api.headers,
        files={"file": ("note.txt", text, "text/plain")},
    )
    assert answer.status_code == 201, answer.text
    document_id = uuid.UUID(answer.json()["document"]["id"])
    async with api.engine.connect() as conn:
        key = await conn.scalar(sa.select(Document.storage_key).where(Document.id == document_id))
    return document_id, str(key)


async def page_texts(api: Api, document_id: uuid.UUID) -> list[str]:
    async with api.engine.connect() as conn:
        rows = await conn.scalars(sa.select(Page.text).where(Page.document_id == document_id))
        return list(rows)


async def test_bytes_swapped_after_the_check_are_not_read(
    api: Api, settings: FolioSettings
) -> None:
    # Given a stored document whose object is then replaced by other bytes
    document_id, key = await upload(api, b"The original contract text.\n")
    async with create_storage(settings) as storage:
        await storage.put_bytes(key, b"Swapped text, never checked.\n", content_type="text/plain")
    # When it is processed
    job = await job_done(api.engine, await process(api, document_id))
    # Then the job fails, saying why, and no page of the swapped bytes exists
    assert job.status == "failed"
    assert job.error_type == "StoredFileChanged"
    assert "replaced after the check" in job.error_message
    assert await page_texts(api, document_id) == []
    async with api.engine.connect() as conn:
        status = await conn.scalar(sa.select(Document.status).where(Document.id == document_id))
    assert status == DocumentStatus.FAILED


async def test_a_message_naming_another_documents_key_is_refused(api: Api) -> None:
    # Given another tenant's document, and one of ours
    other_tenant, other_key = await new_tenant(api.jobs, "other")
    theirs_id, theirs_key = await upload(api.as_tenant(other_tenant, other_key), b"Their secret.\n")
    ours_id, _ = await upload(api, b"Our own text.\n")
    # When a processing message for our document names their key
    job_id = uuid.uuid4()
    msg = ProcessDocumentV1(
        job_id=str(job_id),
        tenant_id=str(api.tenant_id),
        document_id=str(ours_id),
        storage_key=theirs_key,
        content_type="text/plain",
    )
    async with api.jobs.sessions() as session:
        await outbox.enqueue(session, msg, tenant_id=api.tenant_id, document_id=ours_id)
        await session.commit()
        ids = outbox.pending_ids(session)
    await api.jobs.dispatch(ids)
    # Then the job fails without reading it: neither document got their text
    job = await job_done(api.engine, job_id)
    assert job.status == "failed"
    assert job.error_type == "InvalidStorageKey"
    assert await page_texts(api, ours_id) == []
    assert await page_texts(api, theirs_id) == []
