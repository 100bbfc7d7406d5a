"""Reading the job kinds workers declared, and who serves them."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.models import JobKind, JobKindWorker
from folio_shared.kinds.record import LIVE_WITHIN_S


async def all_kinds(session: AsyncSession) -> list[JobKind]:
    """Every declared kind, by name."""
    return list(await session.scalars(sa.select(JobKind).order_by(JobKind.name)))


async def kind_names(session: AsyncSession) -> list[str]:
    """The names of every declared kind, sorted."""
    return list(await session.scalars(sa.select(JobKind.name).order_by(JobKind.name)))


async def get_kind(session: AsyncSession, name: str) -> JobKind | None:
    return await session.get(JobKind, name)


async def live_workers(session: AsyncSession) -> dict[str, int]:
    """Kind name → workers seen within :data:`LIVE_WITHIN_S`."""
    rows = await session.execute(
        sa.select(JobKindWorker.kind, sa.func.count())
        .where(JobKindWorker.seen_at > sa.func.now() - timedelta(seconds=LIVE_WITHIN_S))
        .group_by(JobKindWorker.kind)
    )
    return {kind: int(n) for kind, n in rows.all()}
