"""The operators' jobs across tenants: a tenant column, and search by id,
kind, tenant, state and error text (the API in process, real PostgreSQL)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from test_api_ops import make_dead
from test_ui_pages import sign_in, upload

from folio_shared.db.models import Tenant

pytestmark = pytest.mark.integration


def listed_jobs(html: str) -> list[str]:
    """The job ids in the rows of the operators' jobs table."""
    return re.findall(r'<tr data-job="([0-9a-f-]{36})"', html)


async def test_operators_find_jobs_across_tenants_by_id_kind_tenant_state_and_error(
    client: AsyncTestClient[Any],
    operator_key: str,
    alice: TenantKey,
    bob: TenantKey,
    engine: AsyncEngine,
) -> None:
    # Given a dead job each for alice and bob, and a queued one for alice
    tag = uuid.uuid4().hex[:8]
    alice_dead = await make_dead(engine, alice.tenant_id, f"AliceBroke{tag}")
    bob_dead = await make_dead(engine, bob.tenant_id, f"BobBroke{tag}")
    _, alice_queued = await upload(client, alice, f"alice-ops-{tag}")
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(Tenant.id, Tenant.name))
        names = {row.id: row.name for row in rows}
    _, ops = await sign_in(client, operator_key)

    async def find(**query: str) -> str:
        answer = await client.get(
            "/ui/ops/jobs", params=query, headers=ops.cookie, follow_redirects=False
        )
        assert answer.status_code == 200, answer.text
        return str(answer.text)

    # By id: that job alone, in a row naming its tenant (linked to its filter)
    by_id = await find(q=str(bob_dead))
    assert listed_jobs(by_id) == [str(bob_dead)]
    assert '<th scope="col">Tenant</th>' in by_id
    assert f'href="/ui/ops/jobs?tenant={bob.tenant_id}"' in by_id
    assert f">{names[bob.tenant_id]}</a>" in by_id
    # By error text: only the job whose error says so, whoever's it is
    assert listed_jobs(await find(q=f"AliceBroke{tag} in the")) == [str(alice_dead)]
    # By tenant, by its name or its id: that tenant's jobs only
    for given in (names[alice.tenant_id], str(alice.tenant_id)):
        mine = listed_jobs(await find(tenant=given))
        assert {str(alice_dead), alice_queued} <= set(mine)
        assert str(bob_dead) not in mine
    # By state within a tenant
    dead_ones = listed_jobs(await find(tenant=names[alice.tenant_id], status="dead"))
    assert str(alice_dead) in dead_ones
    assert alice_queued not in dead_ones
    # By kind
    assert str(bob_dead) in listed_jobs(await find(kind="docs.process", tenant=str(bob.tenant_id)))
    assert listed_jobs(await find(kind=f"no.such.kind{tag}")) == []
    # An id of another tenant than the one chosen is not found
    assert listed_jobs(await find(q=str(bob_dead), tenant=str(alice.tenant_id))) == []
    # A tenant that does not exist is said so (not every tenant's jobs)
    unknown = await find(tenant=f"nobody-{tag}")
    assert listed_jobs(unknown) == []
    assert "No tenant has the id or name" in unknown
