"""Uploads, documents and their processing jobs, through the real API
(in process) on real PostgreSQL, Redis and local storage."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, docx_bytes, pdf_bytes, png_bytes, problem, text_bytes
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.enums import PageMethod
from folio_shared.db.models import Chunk, Document, Job, Page
from folio_shared.settings import FolioSettings, PipelineSettings

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


async def upload(
    client: Client,
    who: TenantKey,
    data: bytes,
    filename: str = "report.pdf",
    *,
    content_type: str = "application/octet-stream",
    params: dict[str, str] | None = None,
) -> Any:
    return await client.post(
        "/v1/documents",
        headers=who.headers,
        files={"file": (filename, data, content_type)},
        params=params or {},
    )


def stored_objects(root: Path) -> list[Path]:
    return [p for p in (root / "objects").rglob("*") if p.is_file()]


async def test_upload_creates_document_and_queued_job(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    data = pdf_bytes("upload")
    response = await upload(client, alice, data, "Q3 report.pdf")
    assert response.status_code == 201, response.text
    body = response.json()
    document, job = body["document"], body["job"]
    assert body["duplicate"] is False
    assert document["filename"] == "Q3 report.pdf"
    assert document["kind"] == "pdf"
    assert document["content_type"] == "application/pdf"
    assert document["size_bytes"] == len(data)
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    assert document["status"] == "queued"
    assert document["links"]["self"] == f"/v1/documents/{document['id']}"
    assert job["status"] == "queued"
    assert job["links"] == {
        "self": f"/v1/jobs/{job['job_id']}",
        "events": f"/v1/jobs/{job['job_id']}/events",
        "document": f"/v1/documents/{document['id']}",
    }
    async with engine.connect() as conn:
        row = (
            await conn.execute(sa.select(Document).where(Document.id == uuid.UUID(document["id"])))
        ).one()
        job_row = (
            await conn.execute(sa.select(Job).where(Job.id == uuid.UUID(job["job_id"])))
        ).one()
    assert row.storage_key.startswith(f"tenants/{alice.tenant_id}/documents/")
    assert "Q3" not in row.storage_key
    assert job_row.actor_name == "docs.process"
    assert job_row.queue_name == "documents"
    assert job_row.message["payload"]["storage_key"] == row.storage_key
    assert job_row.message["payload"]["content_type"] == "application/pdf"


async def test_process_false_stores_without_a_job(client: Client, alice: TenantKey) -> None:
    response = await upload(client, alice, text_bytes(), "notes.txt", params={"process": "false"})
    assert response.status_code == 201, response.text
    assert response.json()["job"] is None
    assert response.json()["document"]["status"] == "uploaded"
    assert response.json()["document"]["kind"] == "text"


@pytest.mark.parametrize(
    ("make", "filename", "kind"),
    [
        (png_bytes, "scan.png", "png"),
        (docx_bytes, "letter.docx", "docx"),
        (
            lambda: b"# Title\n\nSome *markdown*.\n" + uuid.uuid4().bytes.hex().encode(),
            "a.md",
            "markdown",
        ),
        (
            lambda: (
                b"<!DOCTYPE html><html><body>hi " + uuid.uuid4().hex.encode() + b"</body></html>"
            ),
            "p.html",
            "html",
        ),
        (lambda: b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 8, "photo.JPG", "jpeg"),
        (lambda: b"II*\x00" + uuid.uuid4().bytes * 8, "scan.tif", "tiff"),
        (lambda: b"RIFF\x24\x00\x00\x00WEBPVP8 " + uuid.uuid4().bytes * 8, "img.webp", "webp"),
    ],
)
async def test_every_allowed_type_is_accepted(
    client: Client, alice: TenantKey, make: Any, filename: str, kind: str
) -> None:
    response = await upload(client, alice, make(), filename, params={"process": "false"})
    assert response.status_code == 201, response.text
    assert response.json()["document"]["kind"] == kind


async def test_same_bytes_dedupe_per_tenant(
    client: Client, alice: TenantKey, bob: TenantKey, store_root: Path
) -> None:
    data = pdf_bytes("dedupe")
    first = await upload(client, alice, data, "a.pdf")
    objects_before = len(stored_objects(store_root))
    second = await upload(client, alice, data, "renamed.pdf")
    assert first.status_code == 201
    assert second.status_code == 200, second.text
    assert second.json()["duplicate"] is True
    assert second.json()["document"]["id"] == first.json()["document"]["id"]
    assert second.json()["job"]["job_id"] == first.json()["job"]["job_id"]
    assert len(stored_objects(store_root)) == objects_before  # the copy was removed
    other = await upload(client, bob, data, "a.pdf")
    assert other.status_code == 201  # another tenant's copy is its own


async def test_concurrent_duplicates_make_one_document(client: Client, alice: TenantKey) -> None:
    data = pdf_bytes("race")
    responses = await asyncio.gather(*(upload(client, alice, data) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["document"]["id"] for r in responses}) == 1


async def test_large_file_goes_to_the_large_queue(
    settings: FolioSettings, alice: TenantKey, engine: AsyncEngine
) -> None:
    from folio_api.app import create_app

    small_limit = settings.model_copy(
        update={"pipeline": PipelineSettings(large_document_bytes=1000)}
    )
    async with AsyncTestClient(app=create_app(small_limit), timeout=30) as client:
        response = await upload(client, alice, pdf_bytes("large") + b"%" * 2000, "big.pdf")
        assert response.status_code == 201, response.text
        # stored first, queued later: the process route routes it the same way
        stored = await upload(
            client, alice, pdf_bytes("large2") + b"%" * 2000, "b2.pdf", params={"process": "false"}
        )
        doc_id = stored.json()["document"]["id"]
        later = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
        assert later.status_code == 202, later.text
        small = await upload(client, alice, pdf_bytes("small"), "small.pdf")
    async with engine.connect() as conn:
        queues = [
            await conn.scalar(
                sa.select(Job.queue_name).where(Job.id == uuid.UUID(r.json()["job"]["job_id"]))
            )
            for r in (response, later, small)
        ]
    assert queues == ["documents-large", "documents-large", "documents"]


async def test_get_list_and_filters(client: Client, engine: AsyncEngine) -> None:
    from apikit import make_tenant

    carol = await make_tenant(engine, "carol")
    ids = []
    for i in range(5):
        r = await upload(
            client, carol, pdf_bytes(f"list{i}"), f"d{i}.pdf", params={"process": "false"}
        )
        ids.append(r.json()["document"]["id"])
    await upload(client, carol, png_bytes(), "x.png", params={"process": "false"})
    page1 = await client.get("/v1/documents", headers=carol.headers, params={"limit": 4})
    assert page1.status_code == 200, page1.text
    assert len(page1.json()["items"]) == 4
    cursor = page1.json()["next_cursor"]
    assert cursor
    page2 = await client.get(
        "/v1/documents", headers=carol.headers, params={"limit": 4, "cursor": cursor}
    )
    assert len(page2.json()["items"]) == 2
    assert page2.json()["next_cursor"] is None
    seen = [d["id"] for d in page1.json()["items"] + page2.json()["items"]]
    assert len(set(seen)) == 6
    assert set(ids) <= set(seen)
    pdfs = await client.get("/v1/documents", headers=carol.headers, params={"kind": "pdf"})
    assert {d["kind"] for d in pdfs.json()["items"]} == {"pdf"}
    assert len(pdfs.json()["items"]) == 5
    uploaded = await client.get(
        "/v1/documents", headers=carol.headers, params={"status": "uploaded"}
    )
    assert len(uploaded.json()["items"]) == 6
    future = await client.get(
        "/v1/documents", headers=carol.headers, params={"created_after": "2999-01-01T00:00:00Z"}
    )
    assert future.json()["items"] == []
    past = await client.get(
        "/v1/documents", headers=carol.headers, params={"created_before": "2000-01-01T00:00:00Z"}
    )
    assert past.json()["items"] == []
    one = await client.get(f"/v1/documents/{ids[0]}", headers=carol.headers)
    assert one.status_code == 200
    assert one.json()["id"] == ids[0]
    assert one.json()["latest_job"] is None
    problem(
        await client.get("/v1/documents", headers=carol.headers, params={"cursor": "garbage!"}),
        400,
        "invalid_input",
    )


async def test_text_and_chunks(client: Client, alice: TenantKey, engine: AsyncEngine) -> None:
    r = await upload(client, alice, pdf_bytes("text"), "t.pdf", params={"process": "false"})
    doc_id = uuid.UUID(r.json()["document"]["id"])
    problem(
        await client.get(f"/v1/documents/{doc_id}/text", headers=alice.headers),
        409,
        "document_state_conflict",
    )
    async with engine.begin() as conn:
        for n, text in ((1, "page one"), (2, "page two")):
            await conn.execute(
                sa.insert(Page).values(
                    document_id=doc_id,
                    page_no=n,
                    text=text,
                    method=PageMethod.TEXT,
                    pipeline_version="t",
                )
            )
        for i in range(3):
            await conn.execute(
                sa.insert(Chunk).values(
                    tenant_id=alice.tenant_id,
                    document_id=doc_id,
                    chunk_index=i,
                    page_start=1,
                    page_end=2,
                    char_start=i * 5,
                    char_end=i * 5 + 5,
                    text=f"chunk {i}",
                    token_count=2,
                    pipeline_version="t",
                )
            )
        await conn.execute(
            sa.update(Document).where(Document.id == doc_id).values(status="ready", page_count=2)
        )
    whole = await client.get(f"/v1/documents/{doc_id}/text", headers=alice.headers)
    assert whole.status_code == 200, whole.text
    assert whole.json()["text"] == "page one\fpage two"
    assert whole.json()["page_count"] == 2
    second = await client.get(
        f"/v1/documents/{doc_id}/text", headers=alice.headers, params={"page": 2}
    )
    assert second.json()["text"] == "page two"
    assert second.json()["page"] == 2
    problem(
        await client.get(f"/v1/documents/{doc_id}/text", headers=alice.headers, params={"page": 9}),
        404,
        "page_not_found",
    )
    chunks = await client.get(
        f"/v1/documents/{doc_id}/chunks", headers=alice.headers, params={"limit": 2}
    )
    assert [c["text"] for c in chunks.json()["items"]] == ["chunk 0", "chunk 1"]
    assert chunks.json()["next_after"] == 1
    rest = await client.get(
        f"/v1/documents/{doc_id}/chunks", headers=alice.headers, params={"after": 1}
    )
    assert [c["index"] for c in rest.json()["items"]] == [2]
    assert rest.json()["next_after"] is None


async def test_file_download_streams_the_bytes(client: Client, alice: TenantKey) -> None:
    data = pdf_bytes("download")
    r = await upload(client, alice, data, "dl.pdf", params={"process": "false"})
    doc_id = r.json()["document"]["id"]
    response = await client.get(f"/v1/documents/{doc_id}/file", headers=alice.headers)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"].startswith("application/pdf")
    assert 'filename="dl.pdf"' in response.headers["content-disposition"]


async def test_delete_removes_rows_object_and_cancels_jobs(
    client: Client, alice: TenantKey, engine: AsyncEngine, store_root: Path
) -> None:
    r = await upload(client, alice, pdf_bytes("delete"), "gone.pdf")
    doc_id, job_id = r.json()["document"]["id"], r.json()["job"]["job_id"]
    async with engine.connect() as conn:
        key = await conn.scalar(
            sa.select(Document.storage_key).where(Document.id == uuid.UUID(doc_id))
        )
    assert (store_root / "objects" / key).exists() or any(
        key.split("/")[-1] in str(p) for p in stored_objects(store_root)
    )
    response = await client.delete(f"/v1/documents/{doc_id}", headers=alice.headers)
    assert response.status_code == 204, response.text
    problem(
        await client.get(f"/v1/documents/{doc_id}", headers=alice.headers),
        404,
        "document_not_found",
    )
    assert not any(key.split("/")[-1] in str(p) for p in stored_objects(store_root))
    job = await client.get(f"/v1/jobs/{job_id}", headers=alice.headers)
    assert job.json()["status"] == "cancelled"
    problem(
        await client.delete(f"/v1/documents/{doc_id}", headers=alice.headers),
        404,
        "document_not_found",
    )


async def test_process_requeues_and_is_idempotent_while_active(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    r = await upload(client, alice, pdf_bytes("process"), "p.pdf", params={"process": "false"})
    doc_id = r.json()["document"]["id"]
    first = await client.post(
        f"/v1/documents/{doc_id}/process", headers=alice.headers, json={"priority": "high"}
    )
    assert first.status_code == 202, first.text
    job_id = first.json()["job"]["job_id"]
    again = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
    assert again.status_code == 202
    assert again.json()["job"]["job_id"] == job_id  # still active: the same job
    async with engine.connect() as conn:
        queue = await conn.scalar(sa.select(Job.queue_name).where(Job.id == uuid.UUID(job_id)))
    assert queue == "documents.high"
    cancel = await client.post(f"/v1/jobs/{job_id}/cancel", headers=alice.headers)
    assert cancel.status_code == 200
    assert cancel.json()["status"] == "cancelled"
    rerun = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
    assert rerun.status_code == 202
    assert rerun.json()["job"]["job_id"] != job_id


async def test_a_delete_that_forgets_its_tenant_filter_touches_nothing(
    client: Client, alice: TenantKey, bob: TenantKey, engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Row-level security under the API's writes: a tenant's delete runs in
    a transaction scoped to it, so a look-up that forgot its tenant filter
    still cannot reach another tenant's document."""
    from folio_api.domain.documents import repository
    from folio_shared.errors import DocumentNotFound

    response = await upload(client, alice, text_bytes(), "own.txt", params={"process": "false"})
    assert response.status_code == 201, response.text
    alices_doc = uuid.UUID(response.json()["document"]["id"])

    async def forgetful_get(
        session: Any, tenant_id: uuid.UUID, document_id: uuid.UUID, *, for_update: bool = False
    ) -> Document:
        found: Document | None = await session.scalar(
            sa.select(Document).where(Document.id == document_id)
        )
        if found is None:
            raise DocumentNotFound(f"no document {document_id}", document_id=str(document_id))
        return found

    monkeypatch.setattr(repository, "get_document", forgetful_get)
    answer = await client.delete(f"/v1/documents/{alices_doc}", headers=bob.headers)
    assert answer.status_code == 404, answer.text
    async with engine.connect() as conn:
        status = await conn.scalar(sa.select(Document.status).where(Document.id == alices_doc))
    assert status is not None
    assert status != "deleted"
    # the same forgetful look-up still serves alice's own delete
    own = await client.delete(f"/v1/documents/{alices_doc}", headers=alice.headers)
    assert own.status_code == 204, own.text
