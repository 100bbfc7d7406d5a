"""``Idempotency-Key`` on ``POST`` routes: a retry gets the first response,
another request with the key is refused, concurrent requests make one thing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from apikit import TenantKey, pdf_bytes, problem
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from support.plain_kinds import WORK, record_kinds

from folio_api.domain.idempotency import repository
from folio_api.domain.idempotency.middleware import BodyHasher
from folio_api.domain.idempotency.purge import RETENTION_S
from folio_shared.db.models import Batch, Document, Job

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
async def kinds(engine: AsyncEngine) -> None:
    await record_kinds(engine)


def keyed(who: TenantKey, key: str) -> dict[str, str]:
    return {**who.headers, "Idempotency-Key": key}


async def documents_named(engine: AsyncEngine, tenant: uuid.UUID, filename: str) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(Document)
            .where(Document.tenant_id == tenant, Document.filename == filename)
        )
    return int(count or 0)


async def grant(
    client: AsyncTestClient[Any], who: TenantKey, key: str | None, filename: str
) -> Any:
    headers = keyed(who, key) if key else who.headers
    return await client.post("/v1/uploads", headers=headers, json={"filename": filename})


async def test_a_retry_gets_the_first_response_and_creates_nothing(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    key, name = uuid.uuid4().hex, f"{uuid.uuid4().hex}.pdf"
    first = await grant(client, alice, key, name)
    assert first.status_code == 201, first.text
    again = await grant(client, alice, key, name)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await documents_named(engine, alice.tenant_id, name) == 1
    # without a key, the same request makes a second document
    assert (await grant(client, alice, None, name)).status_code == 201
    assert await documents_named(engine, alice.tenant_id, name) == 2


async def test_the_same_key_with_another_body_is_a_422(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    key, name = uuid.uuid4().hex, f"{uuid.uuid4().hex}.pdf"
    assert (await grant(client, alice, key, name)).status_code == 201
    other = f"{uuid.uuid4().hex}.pdf"
    body = problem(await grant(client, alice, key, other), 422, "idempotency_key_reused")
    assert "Idempotency-Key" in body["detail"]
    assert await documents_named(engine, alice.tenant_id, other) == 0
    # another route with the key is another request too
    process = await client.post(
        "/v1/documents/00000000-0000-0000-0000-000000000000/process", headers=keyed(alice, key)
    )
    problem(process, 422, "idempotency_key_reused")


async def test_keys_belong_to_their_tenant(
    client: AsyncTestClient[Any], alice: TenantKey, bob: TenantKey, engine: AsyncEngine
) -> None:
    key, name = uuid.uuid4().hex, f"{uuid.uuid4().hex}.pdf"
    a = await grant(client, alice, key, name)
    b = await grant(client, bob, key, name)
    assert a.status_code == b.status_code == 201
    assert a.json()["document"]["id"] != b.json()["document"]["id"]
    assert await documents_named(engine, bob.tenant_id, name) == 1


async def test_concurrent_requests_with_one_key_create_one_document(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    key, name = uuid.uuid4().hex, f"{uuid.uuid4().hex}.pdf"
    answers = await asyncio.gather(*(grant(client, alice, key, name) for _ in range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["document"]["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 7
    assert await documents_named(engine, alice.tenant_id, name) == 1


async def test_a_multipart_upload_encoded_again_matches(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    key, name, data = uuid.uuid4().hex, f"{uuid.uuid4().hex}.pdf", pdf_bytes("idem")
    sent = [
        await client.post(
            "/v1/documents",
            headers=keyed(alice, key),
            files={"file": (name, data, "application/pdf")},
        )
        for _ in range(2)
    ]
    assert sent[0].status_code in (201, 202), sent[0].text
    assert sent[1].json() == sent[0].json()
    assert await documents_named(engine, alice.tenant_id, name) == 1
    changed = await client.post(
        "/v1/documents",
        headers=keyed(alice, key),
        files={"file": (name, pdf_bytes("other"), "application/pdf")},
    )
    problem(changed, 422, "idempotency_key_reused")


async def test_a_key_expires_after_24_hours(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    key, name = uuid.uuid4().hex, f"{uuid.uuid4().hex}.pdf"
    first = await grant(client, alice, key, name)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
                " WHERE key = :key"
            ),
            {"key": key},
        )
    later = await grant(client, alice, key, name)
    assert later.status_code == 201
    assert later.json()["document"]["id"] != first.json()["document"]["id"]


async def test_errors_worth_a_retry_are_not_stored(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    # a 4xx answer is the answer: replayed
    key = uuid.uuid4().hex
    bad = await client.post("/v1/uploads", headers=keyed(alice, key), json={"filename": ""})
    assert 400 <= bad.status_code < 500
    again = await client.post("/v1/uploads", headers=keyed(alice, key), json={"filename": ""})
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.status_code == bad.status_code


@pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"two words"])
async def test_a_malformed_key_is_a_400(
    client: AsyncTestClient[Any], alice: TenantKey, key: bytes
) -> None:
    headers: dict[str, Any] = {**alice.headers, "Idempotency-Key": key}
    response = await client.post("/v1/uploads", headers=headers, json={"filename": "a.pdf"})
    problem(response, 400, "invalid_input")


def test_the_hash_ignores_the_multipart_boundary_across_chunks() -> None:
    def digest(boundary: bytes, size: int) -> str:
        body = b"--B\r\nfield\r\n--B--\r\n".replace(b"B", boundary)
        hasher = BodyHasher(
            "POST", "/v1/documents", b"", b"multipart/form-data; boundary=" + boundary
        )
        for i in range(0, len(body), size):
            hasher.update(body[i : i + size])
        return hasher.hexdigest()

    assert len({digest(b"abc123", n) for n in (1, 2, 5, 100)}) == 1
    assert digest(b"abc123", 3) == digest(b"zz9", 4)
    plain = BodyHasher("POST", "/v1/jobs", b"", b"application/json")
    plain.update(b"{}")
    other = BodyHasher("POST", "/v1/jobs", b"", b"application/json")
    other.update(b"{ }")
    assert plain.hexdigest() != other.hexdigest()


async def test_jobs_and_batches_are_submitted_once(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    tag = uuid.uuid4().hex
    job = {"type": WORK, "payload": {"key": tag}, "metadata": {"tag": tag}}
    jobs = [await client.post("/v1/jobs", headers=keyed(alice, tag), json=job) for _ in range(3)]
    assert {r.status_code for r in jobs} == {202}, jobs[0].text
    assert len({r.json()["id"] for r in jobs}) == 1
    batch = {"jobs": [job, job], "metadata": {"tag": tag}}
    batches = [
        await client.post("/v1/batches", headers=keyed(alice, tag + "-b"), json=batch)
        for _ in range(3)
    ]
    assert {r.status_code for r in batches} == {202}, batches[0].text
    assert len({r.json()["id"] for r in batches}) == 1
    async with engine.connect() as conn:
        made = await conn.scalar(
            sa.select(sa.func.count()).select_from(Job).where(Job.meta["tag"].astext == tag)
        )
        groups = await conn.scalar(
            sa.select(sa.func.count()).select_from(Batch).where(Batch.meta["tag"].astext == tag)
        )
    assert (made, groups) == (3, 1)  # one job, one batch of two


async def test_expired_keys_are_purged(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    old, fresh = uuid.uuid4().hex, uuid.uuid4().hex
    for key in (old, fresh):
        assert (await grant(client, alice, key, f"{key}.pdf")).status_code == 201
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
                " WHERE key = :key"
            ),
            {"key": old},
        )
    pool = await asyncpg.create_pool(
        engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
        min_size=1,
        max_size=1,
    )
    try:
        assert await repository.purge(pool, RETENTION_S, batch_size=1) >= 1
    finally:
        await pool.close()
    async with engine.connect() as conn:
        left = set(
            await conn.scalars(
                sa.text("SELECT key FROM idempotency_keys WHERE key IN (:a, :b)"),
                {"a": old, "b": fresh},
            )
        )
    assert left == {fresh}


async def test_a_claim_whose_request_never_answered_is_taken_over(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    key, name = uuid.uuid4().hex, f"{uuid.uuid4().hex}.pdf"
    async with engine.begin() as conn:  # as an API process that died mid-request leaves it
        await conn.execute(
            sa.text(
                "INSERT INTO idempotency_keys (scope, key, method, path, created_at)"
                " VALUES (:scope, :key, 'POST', '/v1/uploads', now() - interval '11 minutes')"
            ),
            {"scope": f"tenant:{alice.tenant_id}", "key": key},
        )
    answer = await grant(client, alice, key, name)
    assert answer.status_code == 201, answer.text
    assert "idempotent-replayed" not in answer.headers
    assert await documents_named(engine, alice.tenant_id, name) == 1
