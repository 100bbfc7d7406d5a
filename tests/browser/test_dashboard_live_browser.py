"""The dashboard's live pages and job-kind pages in headless Chromium,
against the real API on a loopback port and real worker-docs and
worker-ocr processes: a job's page and the home figures follow the job
without a reload; a kind's page lists its schema, workers and figures; its
form submits a job, with the server's errors next to the field; every field
has a label and the main actions are reached with the keyboard.
Screenshots in ``tests/browser/screenshots/`` (``20-`` onwards)."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from browserkit import (
    PROCESSING_MS,
    make_dead,
    new_operator_key,
    shot,
    signed_in,
    tab_to,
    unlabelled,
)
from e2e.documents import pdf
from e2e.e2ekit import Api
from playwright.async_api import Browser, Page, expect

from folio_shared.db.models import JobKind, JobKindWorker
from folio_shared.ops.pause import QueuePause

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def count_of(page: Page, state: str) -> int:
    return int(await page.locator(f'#overview li[data-state="{state}"] strong').inner_text())


async def mark_loaded(page: Page) -> None:
    """A flag a reload or a navigation would lose."""
    await page.evaluate("window.notReloaded = true")


async def still_loaded(page: Page) -> bool:
    return bool(await page.evaluate("window.notReloaded === true"))


async def test_a_jobs_page_and_the_home_figures_follow_the_job_live(
    api: Api, browser: Browser
) -> None:
    operator_key = await new_operator_key(api, "ui-live-ops")
    ops = {"Authorization": f"Bearer {operator_key}"}
    # Given the documents queue paused, so a new document's job waits queued
    paused = await api.client.post("/v1/ops/queues/documents/pause", headers=ops)
    assert paused.status_code == 200, paused.text
    # and the workers have read it: a pause takes effect within the
    # middleware's poll (its default, 1 s); an upload sent sooner could reach
    # a worker that has not seen it yet, and the job would run at once
    poll_ms = inspect.signature(QueuePause).parameters["poll_ms"].default
    await asyncio.sleep(2.5 * poll_ms / 1000)
    home = await signed_in(browser, api, api.key)
    await expect(home.locator("#overview")).to_be_visible()
    succeeded_before = await count_of(home, "succeeded")
    await mark_loaded(home)
    answer = await api.client.post(
        "/v1/documents",
        headers=api.headers,
        files={"file": ("live.pdf", pdf(["a live job page", "page two"]), "application/pdf")},
    )
    assert answer.status_code == 201, answer.text
    job_id = answer.json()["job"]["job_id"]
    # When its page is open
    job = await home.context.new_page()
    await job.goto(f"/ui/jobs/{job_id}")
    status = job.locator('#job-live [data-field="status"] .badge')
    await expect(status).to_have_text(re.compile(r"^(pending|queued)$"))
    await mark_loaded(job)
    await shot(job, "20-job-waiting")
    # and the queue is resumed, so a worker runs the job
    resumed = await api.client.post("/v1/ops/queues/documents/resume", headers=ops)
    assert resumed.status_code == 200, resumed.text
    # Then the page shows it succeed, with its timeline and attempt, unreloaded
    await expect(status).to_have_text("succeeded", timeout=PROCESSING_MS)
    await expect(job.locator("#timeline")).to_contain_text("succeeded")
    await expect(job.locator("#attempts")).to_contain_text("attempt 1")
    await expect(job.locator('#job-live [data-field="progress"] progress')).to_have_attribute(
        "value", "100"
    )
    assert await still_loaded(job)
    assert job.url.endswith(f"/ui/jobs/{job_id}")
    await shot(job, "21-job-succeeded-live")
    # And the home page counted it, unreloaded
    await expect(home.locator('#overview li[data-state="succeeded"] strong')).to_have_text(
        str(succeeded_before + 1), timeout=30_000
    )
    # and lists a job that just died among its recent failures
    dead_id = await make_dead(api)
    await expect(home.locator("#failures")).to_contain_text("ParserBug", timeout=30_000)
    await expect(home.locator(f'#failures a[href="/ui/jobs/{dead_id}"]')).to_have_count(1)
    assert await still_loaded(home)
    await shot(home, "22-home-updated-live")
    await home.context.close()


async def declare_kind(api: Api, name: str) -> None:
    """A job kind and a live worker serving it, as the worker writes them at start."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "type": {"enum": [f"{name}.v1"]},
            "key": {"type": "string", "minLength": 1},
            "width": {"type": "integer", "minimum": 1},
        },
        "required": ["type", "key", "width"],
    }
    async with api.engine.begin() as conn:
        await conn.execute(
            sa.insert(JobKind).values(
                name=name,
                version=1,
                queue="imaging",
                payload_schema=schema,
                result_schema={"type": "object", "properties": {"bytes": {"type": "integer"}}},
                options={"max_retries": 2, "time_limit_ms": 60_000},
                description="Resizes an image to a width.",
            )
        )
        await conn.execute(sa.insert(JobKindWorker).values(kind=name, worker=f"w-{name}"))


async def test_a_tenant_reads_a_kinds_page_and_submits_a_job_of_it(
    api: Api, browser: Browser
) -> None:
    name = f"img.resize{uuid.uuid4().hex[:6]}"
    await declare_kind(api, name)
    page = await signed_in(browser, api, api.key)
    # The kinds page shows the kind: queue, live workers, schemas, options, figures
    await page.get_by_role("navigation").get_by_role("link", name="Job kinds").click()
    card = page.locator(f'section[id="kind-{name}"]')
    await expect(card.get_by_role("heading", name=re.compile(name))).to_be_visible()
    await expect(card).to_contain_text("imaging")
    await expect(card.locator('[data-field="workers"]')).to_have_text("1")
    await expect(card.locator('[data-field="counts"]')).to_have_text("none in 24 hours")
    await card.get_by_text("Payload schema").click()
    await expect(card).to_contain_text('"minLength": 1')
    await card.get_by_text("Options").click()
    await expect(card).to_contain_text('"time_limit_ms": 60000')
    await shot(page, "23-job-kinds")
    # Its form refuses what is not JSON, next to the field
    await card.get_by_role("link", name=f"Submit a {name} job").click()
    payload = page.get_by_label("Payload (JSON)")
    await expect(payload).to_have_value(re.compile(r'"key": ""'))  # the required fields
    await payload.fill('{"key": "a.png", "width": ')
    await page.get_by_role("button", name="Submit the job").click()
    await expect(page.locator("#payload-errors")).to_contain_text("not JSON")
    await expect(payload).to_have_attribute("aria-invalid", "true")
    # and a payload the kind's schema refuses, naming each field
    await payload.fill(json.dumps({"key": "", "width": 0}))
    await page.get_by_role("button", name="Submit the job").click()
    errors = page.locator("#payload-errors")
    await expect(errors).to_contain_text("payload.key")
    await expect(errors).to_contain_text("payload.width")
    await expect(payload).to_have_value(json.dumps({"key": "", "width": 0}))
    await shot(page, "24-submit-refused")
    # Every field of the form has a label; Tab reaches the fields and the button
    assert await unlabelled(page) == []
    assert await tab_to(page, "Submit the job") <= 25
    await expect(payload).not_to_be_focused()
    await payload.focus()
    await payload.fill(json.dumps({"key": "a.png", "width": 320}))
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Priority")).to_be_focused()
    await page.get_by_label("Priority").select_option("high")
    await shot(page, "25-submit-keyboard")
    # A valid job is queued and its page opens
    await page.get_by_role("button", name="Submit the job").click()
    await expect(page).to_have_url(re.compile(r"/ui/jobs/[0-9a-f-]{36}$"))
    await expect(page.get_by_role("heading", name=f"Job {name}")).to_be_visible()
    await expect(page.locator("#job-live")).to_contain_text("priority high")
    await expect(page.locator("#attempts")).to_contain_text('"width": 320')
    await shot(page, "26-submitted-job")
    await page.context.close()


async def test_every_field_has_a_label_and_tab_reaches_the_main_actions(
    api: Api, browser: Browser
) -> None:
    page = await signed_in(browser, api, api.key)
    # The skip link comes first
    assert await tab_to(page, "Skip to content") == 1
    pages = {
        "/ui": None,
        "/ui/upload": None,
        "/ui/documents": "Filter",
        "/ui/search": "Search",
        "/ui/jobs": "Filter",
        "/ui/job-types": None,
    }
    for path, action in pages.items():
        await page.goto(path)
        assert await unlabelled(page) == [], path
        assert await tab_to(page, "Sign out") <= 12, path
        if action:
            assert await tab_to(page, action) <= 30, path
    await page.goto("/ui/upload")
    await tab_to(page, "Sign out")
    await page.keyboard.press("Tab")
    await expect(page.locator("#drop")).to_be_focused()  # Enter or Space opens the picker
    await shot(page, "27-upload-drop-zone-focused")
    await page.context.close()
    operator_key = await new_operator_key(api, "ui-keys-ops")
    ops = await signed_in(browser, api, operator_key)
    for path in ("/ui/ops/queues", "/ui/ops/jobs", "/ui/ops/dead", "/ui/ops/audit"):
        await ops.goto(path)
        assert await unlabelled(ops) == [], path
    await ops.goto("/ui/ops/jobs")
    assert await tab_to(ops, "Find") <= 30
    await shot(ops, "28-ops-jobs-keyboard")
    await ops.context.close()
