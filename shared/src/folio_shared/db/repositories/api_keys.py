"""API keys: creating, finding (authenticating) and revoking them."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import ApiKeyKind
from folio_shared.db.models import ApiKey, AuditLog
from folio_shared.errors import Unauthorized
from folio_shared.security import api_key_matches, generate_api_key, parse_api_key


async def create_tenant_key(
    session: AsyncSession, tenant_id: uuid.UUID, name: str, *, actor: str = "system"
) -> tuple[ApiKey, str]:
    """A new key for one tenant: ``(row, plain key)``. The plain key exists
    only in the return value."""
    return await _create_key(session, ApiKeyKind.TENANT, tenant_id, name, actor)


async def create_operator_key(
    session: AsyncSession, name: str, *, actor: str = "system"
) -> tuple[ApiKey, str]:
    """A new operator key (ops API, no tenant): ``(row, plain key)``."""
    return await _create_key(session, ApiKeyKind.OPERATOR, None, name, actor)


async def find_api_key(session: AsyncSession, key: str) -> ApiKey | None:
    """The live key row ``key`` authenticates as, or ``None``.

    Looks the row up by the key's public prefix, then compares hashes in
    constant time. Malformed, unknown and revoked keys all give ``None``,
    so callers answer them alike.
    """
    try:
        prefix = parse_api_key(key)
    except Unauthorized:
        return None
    row = await session.scalar(
        sa.select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    )
    if row is None or not api_key_matches(key, row.key_hash):
        return None
    return row


async def revoke_api_key(
    session: AsyncSession, key_id: uuid.UUID, *, actor: str = "system"
) -> bool:
    """Revoke a key at once; ``False`` if it does not exist or was revoked."""
    revoked = await session.scalar(
        sa.update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
        .returning(ApiKey.id)
    )
    if revoked is not None:
        session.add(AuditLog(actor=actor, action="api_key.revoke", target=f"api_key:{key_id}"))
        await session.flush()
    return revoked is not None


async def list_api_keys(session: AsyncSession, tenant_id: uuid.UUID | None = None) -> list[ApiKey]:
    """Keys of one tenant (or all keys), oldest first."""
    query = sa.select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if tenant_id is not None:
        query = query.where(ApiKey.tenant_id == tenant_id)
    return list(await session.scalars(query))


async def _create_key(
    session: AsyncSession,
    kind: ApiKeyKind,
    tenant_id: uuid.UUID | None,
    name: str,
    actor: str,
) -> tuple[ApiKey, str]:
    key, prefix, key_hash = generate_api_key()
    row = ApiKey(tenant_id=tenant_id, kind=kind, name=name, prefix=prefix, key_hash=key_hash)
    session.add(row)
    await session.flush()
    session.add(
        AuditLog(
            actor=actor,
            action="api_key.create",
            target=f"api_key:{row.id}",
            details={"kind": kind.value, "prefix": prefix, "tenant_id": _str(tenant_id)},
        )
    )
    await session.flush()
    return row, key


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
