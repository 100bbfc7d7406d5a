"""What the browser tests share: Debian's chromium, signing in through the
form, screenshots under ``tests/browser/screenshots/`` (git-ignored). The
fixtures (the API and workers, the browser) are in ``conftest.py``."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from e2e.e2ekit import Api
from playwright.async_api import Browser, BrowserContext, Page, expect

from folio_shared.db.models import Job
from folio_shared.db.repositories.api_keys import create_operator_key
from folio_shared.jobs import outbox
from folio_shared.messages import ProcessDocumentV1

#: Debian's chromium (installed by scripts/install-system-deps.sh test).
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "screenshots"
#: How long a page may wait for documents to be processed, in ms.
PROCESSING_MS = 180_000

# What a page shows within seconds on a quiet machine may take longer on a
# loaded one (the browser, the API and the workers share its cores):
# assertions wait up to 15 s instead of Playwright's 5 s. A failing one
# waits longer; a passing one returns as soon as it holds.
expect.set_options(timeout=15_000)


def base_url(api: Api) -> str:
    return str(api.client.base_url).rstrip("/")


async def signed_in(browser: Browser, api: Api, key: str, **options: Any) -> Page:
    """A new browser context signed in with ``key`` (through the form)."""
    context: BrowserContext = await browser.new_context(base_url=base_url(api), **options)
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # confirmations: yes
    await page.goto("/ui")
    await expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
    return page


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def make_dead(api: Api) -> uuid.UUID:
    """A dead job of the tenant (its retries spent), as the workbench lists them."""
    job_id = uuid.uuid4()
    msg = ProcessDocumentV1(
        job_id=str(job_id),
        tenant_id=str(api.tenant_id),
        document_id=str(uuid.uuid4()),
        storage_key=f"uploads/{uuid.uuid4()}",
        content_type="application/pdf",
    )
    async with api.jobs.sessions() as session:
        await outbox.enqueue(session, msg, tenant_id=api.tenant_id)
        await session.commit()
    async with api.engine.begin() as conn:
        await conn.execute(
            sa.update(Job)
            .where(Job.id == job_id)
            .values(
                status="dead",
                attempts=4,
                error_type="ParserBug",
                error_message="ParserBug in the parser",
                finished_at=sa.func.now(),
            )
        )
    return job_id


async def unlabelled(page: Page) -> list[str]:
    """The page's form fields a screen reader cannot name: neither a
    ``<label>`` nor ``aria-label``/``aria-labelledby`` (hidden fields aside)."""
    found: list[str] = await page.evaluate(
        """() => [...document.querySelectorAll("input, select, textarea")]
            .filter((el) => el.type !== "hidden")
            .filter((el) => !el.labels?.length && !el.getAttribute("aria-label")
                && !el.getAttribute("aria-labelledby"))
            .map((el) => el.outerHTML)"""
    )
    return found


async def tab_to(page: Page, name: str, *, most: int = 40) -> int:
    """Press Tab from the top of the page until the control named ``name``
    has the focus; how many presses it took (fails past ``most``)."""
    await page.evaluate("document.activeElement?.blur(); window.scrollTo(0, 0)")
    await page.locator("body").focus()
    for presses in range(1, most + 1):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            """() => { const el = document.activeElement;
                const name = el?.innerText || el?.value || el?.getAttribute("aria-label");
                return (name || "").trim(); }"""
        )
        if focused == name:
            return presses
    raise AssertionError(f"{name!r} not reached with {most} presses of Tab")


async def new_operator_key(api: Api, label: str) -> str:
    """A new operator key."""
    async with api.jobs.sessions() as session:
        _, key = await create_operator_key(session, label)
        await session.commit()
    return key
