"""The audit log: who did what to which resource, and when.

Operator actions (re-drive, purge, pause, retry, cancel) are written to the
``audit_log`` table in the same transaction as the change they describe
where there is one. ``actor`` names who acted: an API key's id or name, or
``cli`` for the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from folio_shared.db.models import AuditLog


@dataclass(frozen=True)
class AuditEntry:
    """One audit record."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]


async def record(
    conn: AsyncConnection,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit record to ``conn``'s transaction (the caller commits)."""
    await conn.execute(
        sa.insert(AuditLog).values(actor=actor, action=action, target=target, details=details or {})
    )


async def record_now(
    engine: AsyncEngine,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write one audit record in a transaction of its own."""
    async with engine.begin() as conn:
        await record(conn, actor=actor, action=action, target=target, details=details)


async def recent(
    engine: AsyncEngine, *, action_prefix: str | None = None, limit: int = 50
) -> list[AuditEntry]:
    """The newest audit records, optionally only actions starting with
    ``action_prefix`` (``"dead."``)."""
    query = sa.select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(AuditLog.action.startswith(action_prefix, autoescape=True))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [AuditEntry(r.id, r.at, r.actor, r.action, r.target, dict(r.details)) for r in rows]
