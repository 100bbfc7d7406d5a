"""The dashboard in a real headless browser (Debian's ``chromium``, driven
by Playwright), against the real API served on a loopback port and real
worker-docs and worker-ocr processes.

One API and one pair of workers serve the module. Every test saves
screenshots under ``tests/browser/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import base64
import re

import pytest
from browserkit import PROCESSING_MS, make_dead, new_operator_key, shot, signed_in
from e2e.documents import pdf, scanned_page
from e2e.e2ekit import Api, new_tenant
from playwright.async_api import Browser, Page, expect

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def drop(page: Page, name: str, data: bytes) -> None:
    """Drop a file on the upload page's drop zone, as a drag from the desktop does."""
    transfer = await page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "application/pdf" }));
            return transfer;
        }""",
        [name, base64.b64encode(data).decode()],
    )
    await page.dispatch_event("#drop", "dragover", {"dataTransfer": transfer})
    await expect(page.locator("#drop")).to_have_class(re.compile(r"\bover\b"))
    await page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})


def text_pdf(words: str) -> bytes:
    return pdf([f"{words} page one", f"{words} page two"])


async def test_a_tenant_uploads_two_pdfs_watches_them_live_reads_a_page_and_searches(
    api: Api, browser: Browser
) -> None:
    page = await signed_in(browser, api, api.key)
    await expect(page).to_have_url(re.compile(r"/ui$"))
    await expect(page.get_by_role("heading", name="Home")).to_be_visible()
    await shot(page, "01-home")

    # When two PDFs are dropped on the upload page (the file picker's input)
    await page.get_by_role("navigation").get_by_role("link", name="Upload").click()
    await page.evaluate("window.notReloaded = true")
    await page.set_input_files(
        "#files",
        [
            {"name": "heron.pdf", "mimeType": "application/pdf", "buffer": text_pdf("heron marsh")},
            {"name": "walrus.pdf", "mimeType": "application/pdf", "buffer": text_pdf("walrus ice")},
        ],
    )
    rows = page.locator("#uploads li")
    await expect(rows).to_have_count(2)
    # Then both reach ready on the same page, without a reload
    await expect(page.locator('#uploads li[data-status="ready"]')).to_have_count(
        2, timeout=PROCESSING_MS
    )
    assert await page.evaluate("window.notReloaded") is True
    for i in range(2):
        assert await rows.nth(i).locator("progress.up").get_attribute("value") == "100"
        assert await rows.nth(i).locator("progress.work").get_attribute("value") == "100"
    await shot(page, "02-upload-two-ready")

    # A document opens with its page image beside its text
    await rows.filter(has_text="heron.pdf").get_by_role("link", name="Open the document").click()
    await expect(page.get_by_role("heading", name="heron.pdf")).to_be_visible()
    image = page.get_by_role("img", name="Page 1 of heron.pdf")
    await image.scroll_into_view_if_needed()
    await page.wait_for_function(
        "img => img.complete && img.naturalWidth > 100", arg=await image.element_handle()
    )
    await expect(page.locator("#page-1 pre.text")).to_contain_text("heron marsh page one")
    await shot(page, "03-document-page-image-and-text")

    # Search finds the other document; its hit opens the page
    await page.get_by_role("navigation").get_by_role("link", name="Search").click()
    await page.get_by_label("Query").fill("walrus ice")
    await page.get_by_role("button", name="Search").click()
    hit = page.locator("a.hit").first
    await expect(hit).to_contain_text("walrus.pdf")
    await expect(page.locator(".hits mark").first).to_be_visible()
    await shot(page, "04-search-hits")
    await hit.click()
    await expect(page).to_have_url(re.compile(r"/ui/documents/[0-9a-f-]+#page-\d+$"))
    await expect(page.get_by_role("heading", name="walrus.pdf")).to_be_visible()
    await expect(page.locator("pre.text").first).to_contain_text("walrus ice")
    await shot(page, "05-search-hit-opened")

    # On a phone-sized screen the documents list fits the width
    phone = await page.context.new_page()
    await phone.set_viewport_size({"width": 390, "height": 844})
    await phone.goto("/ui/documents")
    await expect(phone.get_by_role("link", name="heron.pdf")).to_be_visible()
    overflow = await phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1
    await shot(phone, "06-documents-phone")
    await page.context.close()


async def test_an_operator_pauses_a_queue_a_tenant_cancels_a_held_job_and_a_dead_job_is_redriven(
    api: Api, browser: Browser
) -> None:
    operator_key = await new_operator_key(api, "ui-ops")
    ops = await signed_in(browser, api, operator_key)
    await expect(ops).to_have_url(re.compile(r"/ui/ops/queues$"))
    # The operator pauses the OCR queue
    await ops.get_by_role("button", name="Pause ocr").click()
    await expect(ops.get_by_role("button", name="Resume ocr")).to_be_visible()
    await shot(ops, "07-ops-queue-paused")

    # A scanned PDF now waits for OCR: its job runs on until it is cancelled
    tenant = await signed_in(browser, api, api.key)
    await tenant.goto("/ui/upload")
    scan = pdf([scanned_page(["a scanned page that waits for its OCR"])])
    await drop(tenant, "scan.pdf", scan)
    row = tenant.locator("#uploads li")
    await expect(row).to_have_attribute("data-status", "processing", timeout=PROCESSING_MS)
    await tenant.goto("/ui/jobs")
    await tenant.locator("#jobs tbody tr").first.get_by_role("link").click()
    await expect(tenant.get_by_role("button", name="Cancel job")).to_be_visible()
    await tenant.get_by_role("button", name="Cancel job").click()
    await expect(tenant.locator('[data-field="status"] .badge')).to_have_text("cancelled")
    await expect(tenant.get_by_role("button", name="Retry job")).to_be_visible()
    await shot(tenant, "08-job-cancelled")

    # The operator resumes the queue and re-drives a dead job
    await ops.get_by_role("button", name="Resume ocr").click()
    await expect(ops.get_by_role("button", name="Pause ocr")).to_be_visible()
    dead_id = await make_dead(api)
    await ops.get_by_role("navigation").get_by_role("link", name="Dead letters").click()
    await ops.get_by_label(f"choose {dead_id}").check()
    await shot(ops, "09-dead-letters")
    await ops.get_by_role("button", name="Re-drive chosen").click()
    await expect(ops.get_by_label(f"choose {dead_id}")).to_have_count(0)
    # And the audit log shows the pause, the resume and the re-drive
    await ops.get_by_role("navigation").get_by_role("link", name="Audit log").click()
    log = ops.locator("#audit tbody")
    await expect(log).to_contain_text("queue.pause")
    await expect(log).to_contain_text("queue.resume")
    await expect(log).to_contain_text("dead.redrive")
    await expect(log).to_contain_text(str(dead_id))
    await shot(ops, "10-audit-log")
    await ops.context.close()
    await tenant.context.close()


async def test_a_tenant_session_is_scoped_needs_csrf_and_signs_out(
    api: Api, browser: Browser
) -> None:
    answer = await api.client.post(
        "/v1/documents",
        params={"process": "false"},
        headers=api.headers,
        files={"file": ("private.pdf", text_pdf("private"), "application/pdf")},
    )
    assert answer.status_code == 201, answer.text
    theirs = answer.json()["document"]["id"]
    job = await api.client.post(f"/v1/documents/{theirs}/process", json={}, headers=api.headers)
    their_job = job.json()["job"]["job_id"]
    _, other_key = await new_tenant(api.jobs, "ui-other")

    page = await signed_in(browser, api, other_key)
    for path in (f"/ui/documents/{theirs}", f"/ui/jobs/{their_job}"):
        response = await page.goto(path)
        assert response is not None
        assert response.status == 404, path
        await expect(page.get_by_role("alert")).to_be_visible()
    await shot(page, "11-other-tenant-404")
    response = await page.goto("/ui/ops/queues")
    assert response is not None
    assert response.status == 403
    await shot(page, "12-tenant-on-operator-page-403")
    # A form posted without its CSRF token is refused (the cookie alone is not enough)
    own = await page.context.request.post("/ui/logout", form={})
    assert own.status == 403
    still = await page.goto("/ui/jobs")
    assert still is not None
    assert still.status == 200
    # Sign out ends the session
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/ui/login$"))
    await page.goto("/ui/documents")
    await expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    await shot(page, "13-signed-out")
    await page.context.close()
