"""The dashboard's sessions, CSRF and tenant scoping, over HTTP (the API in
process, real Redis and PostgreSQL). The browser flows are in tests/browser."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, pdf_bytes
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from test_api_ops import make_dead, status_of

from folio_api.ui.settings import UiSettings
from folio_shared.db.models import ApiKey, AuditLog, Document, Job, Page
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

HTML = {"Accept": "text/html"}


class Browser:
    """One signed-in browser: its session cookie and CSRF token."""

    def __init__(self, client: AsyncTestClient[Any], token: str, csrf: str) -> None:
        self.client, self.token, self.csrf = client, token, csrf

    @property
    def cookie(self) -> dict[str, str]:
        return {"Cookie": f"folio_session={self.token}", **HTML}

    async def get(self, path: str) -> Any:
        return await self.client.get(path, headers=self.cookie, follow_redirects=False)

    async def post(self, path: str, data: dict[str, str], **headers: str) -> Any:
        return await self.client.post(
            path, data=data, headers={**self.cookie, **headers}, follow_redirects=False
        )


async def sign_in(client: AsyncTestClient[Any], key: str, **headers: str) -> tuple[Any, Browser]:
    answer = await client.post(
        "/ui/login", data={"api_key": key, "next": "/ui"}, headers=headers, follow_redirects=False
    )
    client.cookies.clear()  # each Browser sends its own cookie
    match = re.search(r"folio_session=([^;]+)", answer.headers.get("set-cookie", ""))
    assert match, answer.text
    token = match.group(1)
    page = await client.get(
        answer.headers["location"], headers={"Cookie": f"folio_session={token}", **HTML}
    )
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    return answer, Browser(client, token, csrf.group(1))


async def upload(client: AsyncTestClient[Any], tenant: TenantKey, tag: str) -> tuple[str, str]:
    answer = await client.post(
        "/v1/documents",
        headers={"Authorization": f"Bearer {tenant.key}"},
        files={"file": (f"{tag}.pdf", pdf_bytes(tag), "application/pdf")},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return body["document"]["id"], body["job"]["job_id"]


async def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(
    client: AsyncTestClient[Any], alice: TenantKey, redis: Redis, settings: FolioSettings
) -> None:
    # Without a session, a page sends the browser to sign in
    away = await client.get("/ui/documents", headers=HTML, follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"] == "/ui/login?next=%2Fui%2Fdocuments"
    # A wrong key is refused on the form
    wrong = await client.post("/ui/login", data={"api_key": "folio_nope_nope"})
    assert wrong.status_code == 401
    assert "not valid" in wrong.text
    # When alice signs in over plain HTTP
    answer, browser = await sign_in(client, alice.key)
    cookie = answer.headers["set-cookie"].lower()
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui"
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/ui" in cookie
    assert "secure" not in cookie
    # The session lives in Redis for the configured time, its token hashed
    keys = [k async for k in redis.scan_iter(f"{settings.broker.namespace}:ui:session:*")]
    assert keys
    assert all(browser.token.encode() not in k for k in keys)
    ttls = [await redis.ttl(k) for k in keys]
    default_ttl_s = UiSettings().session_ttl_s
    assert default_ttl_s == 8 * 3600
    assert max(ttls) <= default_ttl_s
    assert max(ttls) > default_ttl_s - 60
    assert f"max-age={default_ttl_s}" in cookie
    home = await browser.get("/ui")
    assert home.status_code == 200
    assert "Jobs by kind" in home.text
    # Behind HTTPS the cookie is Secure too
    secure, _ = await sign_in(client, alice.key, **{"X-Forwarded-Proto": "https"})
    assert "secure" in secure.headers["set-cookie"].lower()
    # Sign-out without the CSRF token is refused; with it, the session ends
    refused = await browser.post("/ui/logout", {})
    assert refused.status_code == 403
    out = await browser.post("/ui/logout", {"_csrf": browser.csrf})
    assert out.status_code == 303
    assert out.headers["location"] == "/ui/login"
    gone = await browser.get("/ui")
    assert gone.status_code == 303
    assert gone.headers["location"].startswith("/ui/login")


async def test_a_form_from_another_site_cannot_sign_in(
    client: AsyncTestClient[Any], alice: TenantKey
) -> None:
    answer = await client.post(
        "/ui/login",
        data={"api_key": alice.key},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


async def test_a_tenant_sees_its_own_ids_only_and_no_operator_page(
    client: AsyncTestClient[Any], alice: TenantKey, bob: TenantKey
) -> None:
    mine, my_job = await upload(client, alice, "alice-ui")
    theirs, their_job = await upload(client, bob, "bob-ui")
    _, browser = await sign_in(client, alice.key)
    own = await browser.get(f"/ui/documents/{mine}")
    assert own.status_code == 200
    assert "alice-ui.pdf" in own.text
    assert (await browser.get(f"/ui/jobs/{my_job}")).status_code == 200
    for path in (
        f"/ui/documents/{theirs}",
        f"/ui/jobs/{their_job}",
        f"/ui/documents/{theirs}/file",
        f"/ui/documents/{theirs}/pages/1/image",
        f"/ui/documents/{uuid.uuid4()}",
    ):
        answer = await browser.get(path)
        assert answer.status_code == 404, path
        assert "bob-ui" not in answer.text
    listing = await browser.get("/ui/documents")
    assert "alice-ui.pdf" in listing.text
    assert "bob-ui.pdf" not in listing.text
    for path in ("/ui/ops/queues", "/ui/ops/dead", "/ui/ops/audit"):
        assert (await browser.get(path)).status_code == 403, path
    # A state-changing form without its CSRF token is refused, and changes nothing
    refused = await browser.post(f"/ui/jobs/{my_job}/cancel", {})
    assert refused.status_code == 403
    wrong = await browser.post(f"/ui/jobs/{my_job}/cancel", {"_csrf": "forged"})
    assert wrong.status_code == 403
    job = await browser.get(f"/ui/jobs/{my_job}")
    assert "s-cancelled" not in job.text
    # With it, the job is cancelled (it waits in a queue no worker reads here)
    done = await browser.post(f"/ui/jobs/{my_job}/cancel", {"_csrf": browser.csrf})
    assert done.status_code == 303
    assert "s-cancelled" in (await browser.get(f"/ui/jobs/{my_job}")).text
    # Another tenant's job cannot be cancelled either
    other = await browser.post(f"/ui/jobs/{their_job}/cancel", {"_csrf": browser.csrf})
    assert other.status_code == 404


async def test_live_events_need_the_session_cookie(
    client: AsyncTestClient[Any], alice: TenantKey, bob: TenantKey
) -> None:
    # (The stream itself, followed by a signed-in browser: tests/browser.)
    _, job_id = await upload(client, alice, "alice-events")
    anonymous = await client.get(f"/ui/jobs/{job_id}/events")
    assert anonymous.status_code == 401
    bearer = await client.get(
        f"/ui/jobs/{job_id}/events", headers={"Authorization": f"Bearer {alice.key}"}
    )
    assert bearer.status_code == 401  # the dashboard's routes take the cookie only
    _, other = await sign_in(client, bob.key)
    assert (await other.get(f"/ui/jobs/{job_id}/events")).status_code == 404


async def test_a_revoked_key_ends_its_sessions(
    client: AsyncTestClient[Any], engine: AsyncEngine, bob: TenantKey
) -> None:
    _, browser = await sign_in(client, bob.key)
    assert (await browser.get("/ui/jobs")).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(ApiKey)
            .where(ApiKey.tenant_id == bob.tenant_id)
            .values(revoked_at=sa.func.now())
        )
    answer = await browser.get("/ui/jobs")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login")


async def test_an_operator_pauses_and_resumes_from_the_queues_page(
    client: AsyncTestClient[Any], operator_key: str, alice: TenantKey, engine: AsyncEngine
) -> None:
    answer, ops = await sign_in(client, operator_key)
    assert answer.headers["location"] == "/ui/ops/queues"
    # An operator has no tenant: tenant pages send it to the operator pages
    home = await ops.get("/ui/documents")
    assert home.status_code == 303
    assert home.headers["location"] == "/ui/ops/queues"
    page = await ops.get("/ui/ops/queues")
    assert page.status_code == 200
    assert "documents" in page.text
    assert (await ops.post("/ui/ops/queues/ocr/pause", {})).status_code == 403
    assert (await ops.post("/ui/ops/queues/ocr/pause", {"_csrf": ops.csrf})).status_code == 303
    assert "Resume ocr" in (await ops.get("/ui/ops/queues")).text
    assert (await ops.post("/ui/ops/queues/ocr/resume", {"_csrf": ops.csrf})).status_code == 303
    assert "Pause ocr" in (await ops.get("/ui/ops/queues")).text
    async with engine.connect() as conn:
        actions = list(
            await conn.scalars(
                sa.select(AuditLog.action)
                .where(AuditLog.target == "queue:ocr")
                .order_by(AuditLog.id)
            )
        )
    assert actions[-2:] == ["queue.pause", "queue.resume"]
    audit = await ops.get("/ui/ops/audit")
    assert "queue.pause" in audit.text
    assert "queue.resume" in audit.text
    for path in ("/ui/ops/workers", "/ui/ops/jobs", "/ui/ops/dead", "/ui/ops/stalled"):
        assert (await ops.get(path)).status_code == 200, path
    # An unknown queue is a clear error
    assert (await ops.post("/ui/ops/queues/nope/pause", {"_csrf": ops.csrf})).status_code == 400


async def test_a_document_page_shows_each_pages_ocr_confidence_and_low_confidence_flag(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    # Given a processed document whose second page was OCRed with low confidence
    document_id, _ = await upload(client, alice, "alice-scan")
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(Page),
            [
                {
                    "document_id": document_id,
                    "page_no": 1,
                    "text": "typed page",
                    "method": "text",
                    "ocr_confidence": None,
                    "low_confidence": False,
                    "pipeline_version": "t",
                },
                {
                    "document_id": document_id,
                    "page_no": 2,
                    "text": "blurry scan",
                    "method": "ocr",
                    "ocr_confidence": 41.6,
                    "low_confidence": True,
                    "pipeline_version": "t",
                },
            ],
        )
        await conn.execute(
            sa.update(Document)
            .where(Document.id == document_id)
            .values(status="ready", page_count=2, low_confidence_pages=[2])
        )
    # When the API and the page are read
    text = await client.get(
        f"/v1/documents/{document_id}/text", headers={"Authorization": f"Bearer {alice.key}"}
    )
    pages = text.json()["pages"]
    assert [p["ocr_confidence"] for p in pages] == [None, 41.6]
    _, browser = await sign_in(client, alice.key)
    shown = await browser.get(f"/ui/documents/{document_id}")
    # Then the page shows the confidence and the flag beside page 2's text
    assert shown.status_code == 200
    page_two = shown.text.split('id="page-2"', 1)[1]
    assert "OCR confidence 42" in page_two
    assert "low OCR confidence" in page_two
    assert "blurry scan" in page_two
    assert 'src="/ui/documents/' + document_id + '/pages/2/image"' in page_two


async def test_pages_forbid_framing_and_foreign_scripts(
    client: AsyncTestClient[Any], alice: TenantKey
) -> None:
    _, browser = await sign_in(client, alice.key)
    for answer in (await client.get("/ui/login"), await browser.get("/ui/jobs")):
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-frame-options"] == "DENY"


async def test_the_workbench_redrives_every_dead_job_matching_its_filter(
    client: AsyncTestClient[Any], operator_key: str, alice: TenantKey, engine: AsyncEngine
) -> None:
    tag = f"UiBug{uuid.uuid4().hex[:6]}"
    doomed = [await make_dead(engine, alice.tenant_id, tag) for _ in range(2)]
    spared = await make_dead(engine, alice.tenant_id, "OtherBug")
    _, ops = await sign_in(client, operator_key)
    listed = await ops.get(f"/ui/ops/dead?error_type={tag}")
    assert all(str(j) in listed.text for j in doomed)
    assert str(spared) not in listed.text
    # Every match needs a filter: an empty one is refused
    empty = await ops.post("/ui/ops/dead/redrive", {"_csrf": ops.csrf, "matching": "on"})
    assert empty.status_code == 400
    assert await status_of(engine, spared) == "dead"
    done = await ops.post(
        "/ui/ops/dead/redrive", {"_csrf": ops.csrf, "matching": "on", "error_type": tag}
    )
    assert done.status_code == 303
    assert [await status_of(engine, j) for j in doomed] == ["queued", "queued"]
    assert await status_of(engine, spared) == "dead"


async def test_reprocess_checks_its_options_and_delete_removes_the_document(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    document_id, job_id = await upload(client, alice, "alice-redo")
    _, browser = await sign_in(client, alice.key)
    await browser.post(f"/ui/jobs/{job_id}/cancel", {"_csrf": browser.csrf})
    # Languages that are not Tesseract's names are refused, nothing is queued
    bad = await browser.post(
        f"/ui/documents/{document_id}/reprocess",
        {"_csrf": browser.csrf, "ocr_languages": "english!"},
    )
    assert bad.status_code == 400
    assert "ocr_languages" in bad.text
    async with engine.connect() as conn:
        before = await conn.scalar(
            sa.select(sa.func.count()).select_from(Job).where(Job.document_id == document_id)
        )
    good = await browser.post(
        f"/ui/documents/{document_id}/reprocess",
        {"_csrf": browser.csrf, "force_ocr": "on", "ocr_languages": "eng por"},
    )
    assert good.status_code == 303
    async with engine.connect() as conn:
        newest = (
            await conn.execute(
                sa.select(Job.message)
                .where(Job.document_id == document_id, Job.parent_id.is_(None))
                .order_by(Job.created_at.desc())
                .limit(1)
            )
        ).scalar_one()
        after = await conn.scalar(
            sa.select(sa.func.count()).select_from(Job).where(Job.document_id == document_id)
        )
    assert after == before + 1
    assert newest["payload"]["force_ocr"] is True
    assert newest["payload"]["ocr_languages"] == "eng+por"
    # Delete needs the token too, then the document is gone
    assert (await browser.post(f"/ui/documents/{document_id}/delete", {})).status_code == 403
    gone = await browser.post(f"/ui/documents/{document_id}/delete", {"_csrf": browser.csrf})
    assert gone.status_code == 303
    assert gone.headers["location"] == "/ui/documents"
    assert (await browser.get(f"/ui/documents/{document_id}")).status_code == 404
