"""The ``process`` shortcut (:mod:`folio_api.domain.documents.shortcut`)
answers as the Litestar handler does: each body is sent once as it is (the
shortcut answers) and once padded past the shortcut's limit (the handler
answers), for two documents alike, and the two answers and the jobs they
wrote are compared. Requests the shortcut leaves to the handler reach it
with their body."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, pdf_bytes, problem
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.domain.auth.guards import PRINCIPAL_KEY
from folio_api.domain.auth.principal import Principal
from folio_api.domain.documents.shortcut import MAX_BODY_BYTES, ProcessShortcut
from folio_shared.db.enums import ApiKeyKind
from folio_shared.db.models import Job

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]

PADDING = b" " * (MAX_BODY_BYTES + 1)
JSON = {"Content-Type": "application/json"}


async def _stored(client: Client, who: TenantKey) -> str:
    r = await client.post(
        "/v1/documents",
        headers=who.headers,
        params={"process": "false"},
        files={"file": ("s.pdf", pdf_bytes(uuid.uuid4().hex), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["document"]["id"])


def _shape(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with each document or job id, and each time, replaced by a
    placeholder (the same id always by the same one)."""
    if isinstance(value, dict):
        return {k: _shape(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v, ids) for v in value]
    if isinstance(value, str):
        for known, placeholder in ids.items():
            value = value.replace(known, placeholder)
        if value[:2] == "20" and "T" in value:  # an ISO time
            return "<time>"
    return value


async def _job_options(engine: AsyncEngine, job_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(Job.priority, Job.queue_name, Job.message).where(
                    Job.id == uuid.UUID(job_id)
                )
            )
        ).one()
    payload = dict(row.message["payload"])
    for name in ("job_id", "document_id", "storage_key"):
        payload.pop(name)
    return {"priority": row.priority, "queue": row.queue_name, "payload": payload}


@pytest.mark.parametrize(
    "body",
    [
        None,
        b"{}",
        b"null",
        b'{"priority": "high"}',
        b'{"priority": "low", "force_ocr": true, "ocr_languages": "eng+por"}',
    ],
    ids=["no-body", "empty-object", "null", "high", "every-option"],
)
async def test_the_shortcut_answers_as_the_handler(
    client: Client, alice: TenantKey, engine: AsyncEngine, body: bytes | None
) -> None:
    answers = []
    # no body: the handler takes a padded null (no body at all would not reach it)
    for content in (body, (body or b"null") + PADDING):
        doc_id = await _stored(client, alice)
        r = await client.post(
            f"/v1/documents/{doc_id}/process",
            headers={**alice.headers, **JSON} if content else alice.headers,
            content=content,
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["job"]["job_id"]
        answers.append(
            (
                r.status_code,
                r.headers["content-type"],
                sorted(r.headers.keys()),
                _shape(
                    r.json(),
                    {
                        doc_id: "<document>",
                        job_id: "<job>",
                        r.json()["document"]["sha256"]: "<sha>",
                    },
                ),
                await _job_options(engine, job_id),
            )
        )
    assert answers[0] == answers[1]


async def test_a_document_already_queued_answers_its_job_either_way(
    client: Client, alice: TenantKey
) -> None:
    doc_id = await _stored(client, alice)
    url = f"/v1/documents/{doc_id}/process"
    first = await client.post(url, headers=alice.headers)
    again = await client.post(url, headers=alice.headers)
    padded = await client.post(url, headers={**alice.headers, **JSON}, content=b"{}" + PADDING)
    job_id = first.json()["job"]["job_id"]
    assert [r.status_code for r in (first, again, padded)] == [202, 202, 202]
    assert again.json()["job"]["job_id"] == padded.json()["job"]["job_id"] == job_id


@pytest.mark.parametrize(
    ("headers", "content", "status", "code", "says"),
    [
        (JSON, b'{"priority": "urgent"}', 400, "invalid_input", "priority"),
        (JSON, b'{"unknown": 1}', 400, "invalid_input", "unknown"),
        (JSON, b"{not json", 400, "bad_request", None),
    ],
    ids=["bad-priority", "unknown-field", "not-json"],
)
async def test_bodies_left_to_the_handler_get_its_errors(
    client: Client,
    alice: TenantKey,
    headers: dict[str, str],
    content: bytes,
    status: int,
    code: str,
    says: str | None,
) -> None:
    doc_id = await _stored(client, alice)
    r = await client.post(
        f"/v1/documents/{doc_id}/process", headers={**alice.headers, **headers}, content=content
    )
    body = problem(r, status, code)
    if says is not None:
        assert says in body["detail"], body
    document = await client.get(f"/v1/documents/{doc_id}", headers=alice.headers)
    assert document.json()["status"] == "uploaded"  # nothing was queued


async def test_a_coerced_option_is_the_handlers_to_accept(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    # strict decoding refuses "true" for a boolean; the handler's lenient
    # conversion accepts it, and the request is answered as before
    doc_id = await _stored(client, alice)
    r = await client.post(
        f"/v1/documents/{doc_id}/process",
        headers={**alice.headers, **JSON},
        content=b'{"force_ocr": "true"}',
    )
    assert r.status_code == 202, r.text
    options = await _job_options(engine, r.json()["job"]["job_id"])
    assert options["payload"]["force_ocr"] is True


async def test_unknown_documents_and_other_tenants_get_404_from_the_shortcut(
    client: Client, alice: TenantKey, bob: TenantKey
) -> None:
    doc_id = await _stored(client, alice)
    for who, path in ((alice, uuid.uuid4()), (bob, doc_id)):
        r = await client.post(f"/v1/documents/{path}/process", headers=who.headers)
        problem(r, 404, "document_not_found")
    r = await client.post(f"/v1/documents/{doc_id}/process", headers={"X": "no key"})
    problem(r, 401, "unauthorized")


async def _through_the_shortcut(
    client: Client, who: TenantKey, doc_id: str, body: bytes
) -> tuple[list[Any], list[Any]]:
    """Run the middleware alone on a request as Litestar gives it (routed,
    authenticated): (what it sent, what reached the handler)."""
    sent: list[Any] = []
    reached: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        reached.append(await receive())

    scope: Any = {
        "type": "http",
        "method": "POST",
        "headers": [(b"content-type", b"application/json")],
        "litestar_app": client.app,
        "path_params": {"document_id": uuid.UUID(doc_id)},
        "state": {PRINCIPAL_KEY: Principal(uuid.uuid4(), ApiKeyKind.TENANT, who.tenant_id)},
    }
    # on the app's own event loop, where its pools and batcher live
    portal = client.blocking_portal
    await asyncio.wrap_future(
        portal.start_task_soon(ProcessShortcut().handle, scope, receive, send, handler)
    )
    return sent, reached


async def test_what_it_answers_never_reaches_the_handler_and_what_it_leaves_does(
    client: Client, alice: TenantKey
) -> None:
    answered, left = await _stored(client, alice), await _stored(client, alice)
    sent, reached = await _through_the_shortcut(client, alice, answered, b'{"priority": "high"}')
    assert reached == []
    assert sent[0]["status"] == 202
    answer = json.loads(sent[1]["body"])
    assert answer["document"]["id"] == answered
    assert answer["document"]["latest_job"]["priority"] == "high"

    sent, reached = await _through_the_shortcut(client, alice, left, b'{"priority": 1}')
    assert sent == []  # the handler here only reads the body, which it was given again
    assert reached == [{"type": "http.request", "body": b'{"priority": 1}', "more_body": False}]


async def test_what_it_answers_is_counted_by_route_and_status(
    client: Client, alice: TenantKey
) -> None:
    labels = {"method": "POST", "route": "/v1/documents/{document_id}/process", "status": "202"}
    before = REGISTRY.get_sample_value("folio_http_requests_total", labels) or 0.0
    doc_id = await _stored(client, alice)
    r = await client.post(f"/v1/documents/{doc_id}/process", headers=alice.headers)
    assert r.status_code == 202, r.text
    assert REGISTRY.get_sample_value("folio_http_requests_total", labels) == before + 1
