"""Presigned uploads: grant, PUT to storage (the API's signed local route, over
real HTTP), then ``/process`` checks the object before queuing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from apikit import TEST_MAX_BYTES, TenantKey, api_settings, make_tenant, pdf_bytes, problem
from sqlalchemy.ext.asyncio import AsyncEngine
from support.live_server import LiveServer, serve

from folio_shared.storage import create_storage

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, test_servers: Any
) -> Iterator[LiveServer]:
    with serve(
        lambda base_url: api_settings(
            tmp_path_factory.mktemp("live"),
            database_url=database_url,
            redis_url=test_servers.redis_url,
            public_base_url=base_url,
        )
    ) as server:
        yield server


@pytest.fixture(scope="module")
async def gina(engine: AsyncEngine) -> TenantKey:
    return await make_tenant(engine, "gina")


async def grant(http: httpx.AsyncClient, who: TenantKey, filename: str, **extra: Any) -> Any:
    response = await http.post(
        "/v1/uploads", headers=who.headers, json={"filename": filename, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_presigned_upload_then_process(live: LiveServer, gina: TenantKey) -> None:
    data = pdf_bytes("presigned")
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        body = await grant(http, gina, "contract.pdf", metadata={"source": "scanner"})
        document, upload = body["document"], body["upload"]
        assert document["status"] == "awaiting_upload"
        assert document["metadata"] == {"source": "scanner"}
        assert upload["method"] == "PUT"
        assert upload["content_type"] == "application/pdf"
        early = await http.post(document["links"]["process"], headers=gina.headers)
        problem(early, 409, "document_state_conflict")
        put = await http.put(
            upload["url"],
            content=data,
            headers={**upload["headers"], "Content-Type": upload["content_type"]},
        )
        assert put.status_code == 201, put.text
        processed = await http.post(document["links"]["process"], headers=gina.headers)
        assert processed.status_code == 202, processed.text
        out = processed.json()
        assert out["document"]["status"] == "queued"
        assert out["document"]["kind"] == "pdf"
        assert out["document"]["size_bytes"] == len(data)
        assert out["job"]["status"] in ("queued", "pending")


async def test_presigned_upload_with_wrong_bytes_is_refused(
    live: LiveServer, gina: TenantKey
) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        body = await grant(http, gina, "fake.pdf")
        upload = body["upload"]
        put = await http.put(
            upload["url"],
            content=b"MZ\x90\x00not a pdf",
            headers={"Content-Type": "application/pdf"},
        )
        assert put.status_code == 201
        refused = await http.post(body["document"]["links"]["process"], headers=gina.headers)
        problem(refused, 415, "unsupported_file_type")
        # the object was removed: processing again says the upload is missing
        again = await http.post(body["document"]["links"]["process"], headers=gina.headers)
        problem(again, 409, "document_state_conflict")


async def test_presigned_upload_is_bounded_by_storage(live: LiveServer, gina: TenantKey) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        body = await grant(http, gina, "small.pdf", size_bytes=100)
        upload = body["upload"]
        assert upload["max_bytes"] == 100
        too_big = await http.put(
            upload["url"],
            content=pdf_bytes() + b"x" * 200,
            headers={"Content-Type": "application/pdf"},
        )
        assert too_big.status_code == 413
        wrong_type = await http.put(
            upload["url"], content=b"%PDF-1.4", headers={"Content-Type": "text/plain"}
        )
        assert wrong_type.status_code == 415


async def test_presigned_duplicate_answers_the_existing_document(
    live: LiveServer, gina: TenantKey
) -> None:
    data = pdf_bytes("presigned-dup")
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        direct = await http.post(
            "/v1/documents",
            headers=gina.headers,
            files={"file": ("d.pdf", data, "application/pdf")},
        )
        assert direct.status_code == 201
        body = await grant(http, gina, "again.pdf")
        await http.put(
            body["upload"]["url"], content=data, headers={"Content-Type": "application/pdf"}
        )
        processed = await http.post(body["document"]["links"]["process"], headers=gina.headers)
        assert processed.status_code == 200, processed.text
        assert processed.json()["duplicate"] is True
        assert processed.json()["document"]["id"] == direct.json()["document"]["id"]
        gone = await http.get(f"/v1/documents/{body['document']['id']}", headers=gina.headers)
        problem(gone, 404, "document_not_found")


async def test_grant_expiry_is_at_most_15_minutes(live: LiveServer, gina: TenantKey) -> None:
    from datetime import UTC, datetime

    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        body = await grant(http, gina, "e.txt")
    expires = datetime.fromisoformat(body["upload"]["expires_at"])
    assert 0 < (expires - datetime.now(UTC)).total_seconds() <= 900


async def test_an_upload_url_is_closed_once_processed(live: LiveServer, gina: TenantKey) -> None:
    data = pdf_bytes("single-use")
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        # Given a presigned upload, uploaded and processed
        body = await grant(http, gina, "once.pdf")
        upload, links = body["upload"], body["document"]["links"]
        headers = {"Content-Type": upload["content_type"]}
        put = await http.put(upload["url"], content=data, headers=headers)
        assert put.status_code == 201, put.text
        processed = await http.post(links["process"], headers=gina.headers)
        assert processed.status_code == 202, processed.text
        # When the same URL is used again with other bytes
        again = await http.put(upload["url"], content=b"%PDF-1.4 other bytes", headers=headers)
        # Then it is refused, and the file is still the one checked
        problem(again, 409, "upload_closed")
        file = await http.get(links["file"], headers=gina.headers)
        assert file.status_code == 200
        assert file.content == data


async def test_an_upload_url_cannot_bring_a_deleted_file_back(
    live: LiveServer, gina: TenantKey
) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        body = await grant(http, gina, "gone.pdf")
        upload, links = body["upload"], body["document"]["links"]
        headers = {"Content-Type": upload["content_type"]}
        assert (await http.put(upload["url"], content=pdf_bytes(), headers=headers)).is_success
        deleted = await http.delete(links["self"], headers=gina.headers)
        assert deleted.status_code == 204, deleted.text
        after = await http.put(upload["url"], content=pdf_bytes(), headers=headers)
        problem(after, 409, "upload_closed")


async def test_a_job_input_is_uploaded_once_under_the_tenant_s_prefix(
    live: LiveServer, gina: TenantKey
) -> None:
    data = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        listed = (await http.get("/v1/documents", headers=gina.headers)).json()
        # Given a grant for a job's input of a type documents do not take
        body = await grant(http, gina, "take 1.wav", purpose="job_input", content_type="audio/wav")
        assert "document" not in body
        assert body["purpose"] == "job_input"
        key, upload = body["key"], body["upload"]
        assert key.startswith(f"tenants/{gina.tenant_id}/inputs/")
        assert key.endswith("/take 1.wav")
        assert upload["content_type"] == "audio/wav"
        assert upload["max_bytes"] == TEST_MAX_BYTES
        headers = {"Content-Type": "audio/wav"}
        # When it is sent, with its type
        wrong_type = await http.put(upload["url"], content=data, headers={"Content-Type": "x/y"})
        problem(wrong_type, 415, "unsupported_file_type")
        put = await http.put(upload["url"], content=data, headers=headers)
        assert put.status_code == 201, put.text
        assert put.json()["key"] == key
        # Then the object is stored as sent, no document was made, and the URL is closed
        stored = await create_storage(live.settings).get_bytes(key)
        assert stored == data
        again = await http.put(upload["url"], content=b"other bytes", headers=headers)
        problem(again, 409, "upload_closed")
        assert await create_storage(live.settings).get_bytes(key) == data
        after = (await http.get("/v1/documents", headers=gina.headers)).json()
        assert after["items"] == listed["items"]


async def test_a_job_input_grant_is_bounded(live: LiveServer, gina: TenantKey) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        body = await grant(http, gina, "blob.bin", purpose="job_input", size_bytes=100)
        upload = body["upload"]
        assert upload["content_type"] == "application/octet-stream"
        assert upload["max_bytes"] == 100
        too_big = await http.put(
            upload["url"], content=b"x" * 101, headers={"Content-Type": upload["content_type"]}
        )
        problem(too_big, 413, "file_too_large")

        async def refused(**extra: Any) -> httpx.Response:
            return await http.post(
                "/v1/uploads", headers=gina.headers, json={"filename": "a.wav", **extra}
            )

        over = await refused(purpose="job_input", size_bytes=TEST_MAX_BYTES + 1)
        problem(over, 413, "file_too_large")
        bad_type = await refused(purpose="job_input", content_type="audio/wav; rate=8000")
        assert "content_type" in problem(bad_type, 400, "invalid_input")["detail"]
        with_metadata = await refused(purpose="job_input", metadata={"a": "b"})
        assert "metadata" in problem(with_metadata, 400, "invalid_input")["detail"]
        typed_document = await refused(content_type="application/pdf")
        assert "content_type" in problem(typed_document, 400, "invalid_input")["detail"]
        unknown = await refused(purpose="avatar")
        assert unknown.status_code == 400, unknown.text
