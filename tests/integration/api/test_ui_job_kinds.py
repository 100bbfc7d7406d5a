"""The dashboard's job-kind pages over HTTP (the API in process, real
PostgreSQL and Redis): only the kinds a tenant may submit, and the submit
form's refusals (CSRF, broken JSON, a priority above the tenant's maximum)
shown next to their field. The browser flow is in tests/browser."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from test_api_job_kinds import declare_kind, limited_tenant
from test_ui_pages import sign_in

from folio_shared.db.models import Job

pytestmark = pytest.mark.integration


async def test_the_submit_form_refuses_next_to_the_field_and_queues_a_valid_job(
    client: AsyncTestClient[Any], engine: AsyncEngine
) -> None:
    # Given two kinds, and a tenant allowed one of them up to normal priority
    mine, other = f"img.mine{uuid.uuid4().hex[:6]}", f"img.other{uuid.uuid4().hex[:6]}"
    await declare_kind(engine, mine)
    await declare_kind(engine, other)
    who = await limited_tenant(engine, allowed_kinds=[mine], max_priority="normal")
    _, browser = await sign_in(client, who.key)
    # The kinds page lists the allowed kind only; the other's form is a 404
    listing = await browser.get("/ui/job-types")
    assert listing.status_code == 200
    assert f'id="kind-{mine}"' in listing.text
    assert other not in listing.text
    assert (await browser.get(f"/ui/job-types/{other}/submit")).status_code == 404
    form = await browser.get(f"/ui/job-types/{mine}/submit")
    assert form.status_code == 200
    assert "&#34;key&#34;: &#34;&#34;" in form.text or '"key": ""' in form.text
    path = f"/ui/job-types/{mine}/submit"
    good = '{"key": "in/a.png", "width": 64}'
    # Without its CSRF token the form is refused
    assert (await browser.post(path, {"payload": good})).status_code == 403
    # Broken JSON: 422, the reason under the payload field, the text kept
    broken = await browser.post(path, {"_csrf": browser.csrf, "payload": '{"key": '})
    assert broken.status_code == 422
    assert re.search(r'id="payload-errors">\s*<li>not JSON', broken.text)
    assert "{&#34;key&#34;: </textarea>" in broken.text
    # A priority above the tenant's maximum: 403, said under the priority field
    high = await browser.post(path, {"_csrf": browser.csrf, "payload": good, "priority": "high"})
    assert high.status_code == 403
    assert re.search(r'id="priority-errors">\s*<li>[^<]*normal', high.text)
    # A delay that is not a number, under its field
    late = await browser.post(path, {"_csrf": browser.csrf, "payload": good, "delay_s": "soon"})
    assert late.status_code == 422
    assert 'id="delay_s-errors"' in late.text
    async with engine.connect() as conn:
        before = await conn.scalar(sa.select(sa.func.count()).where(Job.tenant_id == who.tenant_id))
    assert before == 0
    # A valid job is queued and its page opens
    done = await browser.post(path, {"_csrf": browser.csrf, "payload": good, "delay_s": "30"})
    assert done.status_code == 303
    job_id = done.headers["location"].removeprefix("/ui/jobs/")
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(Job).where(Job.id == uuid.UUID(job_id)))).one()
    assert row.actor_name == mine
    assert row.tenant_id == who.tenant_id
    assert row.eta is not None
