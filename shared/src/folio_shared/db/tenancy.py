"""Row-level security: the role Folio's services act as, and tenant scope.

Migration 0011 puts ``documents``, ``chunks``, ``document_fields`` and
``jobs`` behind a policy (``tenant_wall``) that shows a row only when the
transaction's ``folio.scope`` is ``system``, or is ``tenant`` with
``folio.tenant_id`` the row's tenant. The tables' owner is not subject to
it, so every connection of a service (the engine's and the raw pools')
first becomes role ``folio_app`` — not the owner, no ``BYPASSRLS`` — when
that role exists and the login role may act as it
(:data:`ENTER_APP_ROLE`), in scope ``system``.

Migration 0012 adds ``pages`` and ``job_events`` (no ``tenant_id``):
their row is visible when its parent document or job is.

A request of a tenant reads and writes in a transaction scoped to that
tenant (:func:`tenant_session`: ``SET LOCAL`` of both settings at each
``BEGIN``), so a query there that forgets its ``tenant_id`` filter sees,
changes and deletes only that tenant's rows — none of another's — and
cannot write a row of another tenant. Batched statements (one statement
for several tenants' uploads or ``process`` calls), the workers and
operators keep scope ``system`` and their own filters.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

#: The role services act as (created by migration 0011).
APP_ROLE = "folio_app"

#: Run on each new connection: scope ``system``, then role ``folio_app``
#: when it exists and the login role is a member of it.
ENTER_APP_ROLE = """
SELECT set_config('folio.scope', 'system', false),
       CASE WHEN EXISTS (
         SELECT 1 FROM pg_roles
         WHERE rolname = 'folio_app' AND pg_has_role(session_user, oid, 'MEMBER')
       ) THEN set_config('role', 'folio_app', false) END
"""

_SCOPE_TENANT = sa.text(
    "SELECT set_config('folio.scope', 'tenant', true), set_config('folio.tenant_id', :t, true)"
)
_TENANT_KEY = "folio_tenant_id"


def enter_app_role_sync(dbapi_connection: Any, _record: Any) -> None:
    """SQLAlchemy pool ``connect`` hook: :data:`ENTER_APP_ROLE`."""
    dbapi_connection.run_async(lambda conn: conn.execute(ENTER_APP_ROLE))


async def enter_app_role(conn: Any) -> None:
    """asyncpg ``init`` hook of a raw pool: :data:`ENTER_APP_ROLE`."""
    await conn.execute(ENTER_APP_ROLE)


def _scope_to_tenant(session: Session, _transaction: Any, connection: Any) -> None:
    tenant_id = session.info.get(_TENANT_KEY)
    if tenant_id is not None:
        connection.execute(_SCOPE_TENANT, {"t": str(tenant_id)})


def tenant_session(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID
) -> AsyncSession:
    """A session whose every transaction is scoped to ``tenant_id``: rows
    of other tenants are invisible to it whatever its queries say."""
    if not event.contains(Session, "after_begin", _scope_to_tenant):
        event.listen(Session, "after_begin", _scope_to_tenant)
    return sessions(info={_TENANT_KEY: tenant_id})
