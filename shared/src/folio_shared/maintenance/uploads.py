"""Expired uploads: presigned uploads never completed are removed."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document
from folio_shared.maintenance.summary import Summary
from folio_shared.storage import Storage


async def delete_objects(storage: Storage, keys: list[str]) -> int:
    """Delete the objects of ``keys`` that exist; returns how many did."""
    deleted = 0
    for key in keys:
        if await storage.exists(key):
            await storage.delete(key)
            deleted += 1
    return deleted


async def expire_uploads(
    session: AsyncSession,
    storage: Storage,
    *,
    abandoned_after_s: int,
    now: datetime,
    dry_run: bool = False,
    batch_size: int = 500,
) -> Summary:
    """Remove documents still ``awaiting_upload`` more than
    ``abandoned_after_s`` seconds after they were created: the object (if the
    client sent part of one) first, then the row, one batch per transaction.
    A batch interrupted between the two is finished by the next run."""
    cutoff = now - timedelta(seconds=abandoned_after_s)
    stale = sa.and_(Document.status == DocumentStatus.AWAITING_UPLOAD, Document.created_at < cutoff)
    matched = await session.scalar(sa.select(sa.func.count()).where(stale)) or 0
    if dry_run:
        return Summary("expire_uploads", True, matched, 0)
    changed = deleted_objects = 0
    while True:
        rows = (
            await session.execute(
                sa.select(Document.id, Document.storage_key)
                .where(stale)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            break
        deleted_objects += await delete_objects(storage, [r.storage_key for r in rows])
        result = await session.execute(
            sa.delete(Document).where(Document.id.in_([r.id for r in rows]))
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
        await session.commit()
    return Summary("expire_uploads", False, matched, changed, deleted_objects)
