"""Tenants: creating and listing them, and what each may submit."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.models import AuditLog, Tenant
from folio_shared.db.repositories.api_keys import create_tenant_key
from folio_shared.errors import InvalidInput, TenantExists, TenantNotFound

#: Priorities a tenant's maximum may be set to.
PRIORITIES = ("low", "normal", "high", "critical")

#: Longest tenant name accepted.
MAX_TENANT_NAME_LENGTH = 200


async def create_tenant(
    session: AsyncSession,
    name: str,
    *,
    document_retention_days: int | None = None,
    actor: str = "system",
) -> tuple[Tenant, str]:
    """A new tenant with its first API key (named ``default``):
    ``(tenant, plain key)``.

    ``name`` is trimmed; it must be 1-200 printable characters and unique
    (:class:`TenantExists` otherwise; the caller's transaction stays usable,
    the failed insert is rolled back to a savepoint). ``document_retention_days``:
    see :class:`~folio_shared.db.models.Tenant` (default: keep forever).
    """
    name = validate_tenant_name(name)
    if document_retention_days is not None and document_retention_days < 1:
        raise InvalidInput("document_retention_days must be at least 1")
    if await get_tenant_by_name(session, name) is not None:
        raise TenantExists(f"tenant {name!r} already exists", name=name)
    tenant = Tenant(name=name, document_retention_days=document_retention_days)
    try:
        async with session.begin_nested():
            session.add(tenant)
    except IntegrityError as e:  # a concurrent create won the race
        raise TenantExists(f"tenant {name!r} already exists", name=name) from e
    session.add(AuditLog(actor=actor, action="tenant.create", target=f"tenant:{tenant.id}"))
    _, key = await create_tenant_key(session, tenant.id, "default", actor=actor)
    return tenant, key


async def get_tenant_by_name(session: AsyncSession, name: str) -> Tenant | None:
    """The tenant called ``name``, or ``None``."""
    return await session.scalar(sa.select(Tenant).where(Tenant.name == name))


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    """All tenants, by name."""
    return list(await session.scalars(sa.select(Tenant).order_by(Tenant.name)))


async def set_tenant_limits(
    session: AsyncSession,
    name: str,
    *,
    max_priority: str | None,
    allowed_kinds: list[str] | None,
    actor: str = "system",
) -> Tenant:
    """Set the highest priority the tenant ``name`` may ask for
    (``None``: the API's default, ``high``) and the job kinds it may submit
    (``None``: every kind); audited. :class:`TenantNotFound` if there is no
    such tenant. The API applies a change within its 30 s cache."""
    if max_priority is not None and max_priority not in PRIORITIES:
        raise InvalidInput(f"max priority must be one of {', '.join(PRIORITIES)}")
    tenant = await get_tenant_by_name(session, name)
    if tenant is None:
        raise TenantNotFound(f"no tenant {name!r}", name=name)
    tenant.max_priority = max_priority
    tenant.allowed_kinds = allowed_kinds
    session.add(AuditLog(actor=actor, action="tenant.limits", target=f"tenant:{tenant.id}"))
    return tenant


def validate_tenant_name(name: str) -> str:
    """``name`` trimmed, or :class:`~folio_shared.errors.InvalidInput`."""
    name = name.strip()
    if not name or len(name) > MAX_TENANT_NAME_LENGTH or not name.isprintable():
        raise InvalidInput(
            f"a tenant name must be 1-{MAX_TENANT_NAME_LENGTH} printable characters",
            name=name,
        )
    return name
