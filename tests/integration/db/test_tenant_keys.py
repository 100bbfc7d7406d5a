"""Tenants and API keys through the repository functions."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import ApiKeyKind
from folio_shared.db.models import ApiKey, AuditLog
from folio_shared.db.repositories.api_keys import (
    create_operator_key,
    create_tenant_key,
    find_api_key,
    revoke_api_key,
)
from folio_shared.db.repositories.tenants import create_tenant, list_tenants
from folio_shared.errors import InvalidInput, TenantExists
from folio_shared.security import hash_api_key, parse_api_key

pytestmark = pytest.mark.integration


def _name() -> str:
    return f"acme-{uuid.uuid4().hex[:8]}"


async def test_a_new_tenants_key_finds_that_tenant(session: AsyncSession) -> None:
    tenant, key = await create_tenant(session, "  " + (name := _name()) + " ")
    assert tenant.name == name

    found = await find_api_key(session, key)

    assert found is not None
    assert found.tenant_id == tenant.id
    assert found.kind == ApiKeyKind.TENANT
    assert found.prefix == parse_api_key(key)
    assert tenant in await list_tenants(session)


async def test_the_plain_key_is_never_stored(session: AsyncSession) -> None:
    _, key = await create_tenant(session, _name())
    row = await session.scalar(sa.select(ApiKey).where(ApiKey.prefix == parse_api_key(key)))
    assert row is not None
    assert row.key_hash == hash_api_key(key)
    secret = key.rsplit("_", 1)[1]
    stored = await session.scalar(
        sa.select(sa.func.count())
        .select_from(ApiKey)
        .where(sa.cast(sa.func.row_to_json(sa.text("api_keys.*")), sa.Text).contains(secret))
    )
    assert stored == 0


async def test_wrong_malformed_and_revoked_keys_find_nothing(session: AsyncSession) -> None:
    tenant, key = await create_tenant(session, _name())
    prefix = parse_api_key(key)
    # Right prefix, wrong secret
    forged = f"folio_{prefix}_" + "a" * (len(key) - len(prefix) - 7)
    assert await find_api_key(session, forged) is None
    assert await find_api_key(session, "not a key") is None
    assert await find_api_key(session, "") is None

    row, second = await create_tenant_key(session, tenant.id, "ci")
    assert await revoke_api_key(session, row.id) is True
    assert await find_api_key(session, second) is None
    assert await revoke_api_key(session, row.id) is False
    # The tenant's other key still works
    assert await find_api_key(session, key) is not None


async def test_duplicate_tenant_names_are_refused_and_the_session_survives(
    session: AsyncSession,
) -> None:
    name = _name()
    await create_tenant(session, name)
    with pytest.raises(TenantExists) as raised:
        await create_tenant(session, name)
    assert raised.value.details == {"name": name}
    # Still usable
    await create_tenant(session, _name())


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "bad\nname"])
async def test_invalid_tenant_names_are_refused(session: AsyncSession, name: str) -> None:
    with pytest.raises(InvalidInput):
        await create_tenant(session, name)


async def test_operator_keys_have_no_tenant_and_are_audited(session: AsyncSession) -> None:
    row, key = await create_operator_key(session, "ops", actor="test")
    found = await find_api_key(session, key)
    assert found is not None
    assert found.id == row.id
    assert found.tenant_id is None
    assert found.kind == ApiKeyKind.OPERATOR
    audit = await session.scalar(sa.select(AuditLog).where(AuditLog.target == f"api_key:{row.id}"))
    assert audit is not None
    assert (audit.actor, audit.action) == ("test", "api_key.create")
    assert key not in str(audit.details)
