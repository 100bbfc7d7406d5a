"""Orphans: stored objects no document refers to, documents whose object is gone.

One pass over both sides, as a merge join: the store lists its keys in byte
order, PostgreSQL returns the documents' keys in the same order
(``COLLATE "C"``), so neither side is held in memory.

- An object no document row refers to, last written more than ``min_age_s``
  ago, is deleted (the age guard leaves an upload in flight alone, and the
  keys are checked against the database once more right before deleting).
- A document whose object is gone is *flagged*, not changed otherwise: its
  ``metadata`` gets ``object_missing`` (the ISO 8601 time the run found it
  gone). Its text and chunks stay searchable; a download or a re-process
  will fail until the file is restored. A flagged document whose object is
  back (restored from a backup) has the flag removed. Documents still
  ``awaiting_upload`` (no bytes yet) or ``deleted`` (being removed) are
  never flagged, nor documents younger than ``min_age_s``.

Jobs' objects are not documents'. A job input uploaded through the API
(``tenants/<id>/inputs/<uuid>/<name>``) is deleted only when the caller
gives ``input_min_age_s`` (``FOLIO_JOBS_INPUT_RETENTION_DAYS``), the input
is older than that, and nothing names its ``inputs/<uuid>`` any more: no
job row's message, completion message or metadata (so an input stays while
the history retention keeps a job that read it), and none of the uuids in
``keep_inputs`` (the scheduler's own schedules). Without
``input_min_age_s`` inputs are listed but left alone. A job output
(``tenants/<id>/jobs/<job id>/…``, ``jobs/<job id>/…``) older than
``min_age_s`` is deleted once its job's row is gone (purged by the history
retention): nothing can reach it any more. Outputs of jobs still in the
table, and keys under ``jobs/`` that name no job id, stay.
``prefix`` limits the pass to part of the store (default: all of it).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document, Job
from folio_shared.errors import StorageError
from folio_shared.maintenance.summary import Summary
from folio_shared.storage import Storage, StoredObject
from folio_shared.storage.keys import is_job_input_key, is_job_object_key, job_output_id

#: The uuid of a job input's key, where any text names it (``inputs/<uuid>``).
INPUT_NAME = re.compile(r"inputs/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")

#: Which of the input uuids ``$1`` a job row still names (one pass over the
#: jobs per batch of inputs; the uuid is searched for in the row's text).
_NAMED_INPUTS = sa.text(
    "SELECT DISTINCT m[1] FROM jobs,"
    " regexp_matches(concat_ws(' ', message::text, on_complete::text, metadata::text),"
    " :pattern, 'g') AS m WHERE m[1] = ANY(CAST(:ids AS text[]))"
)

#: ``documents.metadata`` key set on a document whose stored object is gone.
OBJECT_MISSING = "object_missing"

#: Document states that never have (``awaiting_upload``) or no longer need
#: (``deleted``) an object.
_NO_OBJECT_EXPECTED = (DocumentStatus.AWAITING_UPLOAD, DocumentStatus.DELETED)

T = TypeVar("T")


async def _next(it: AsyncIterator[T]) -> T | None:
    try:
        return await it.__anext__()
    except StopAsyncIteration:
        return None


@dataclass
class _Pass:
    storage: Storage
    session: AsyncSession
    dry_run: bool
    batch_size: int
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "objects_scanned",
                "orphan_objects",
                "documents_missing",
                "documents_flagged",
                "documents_unflagged",
                "job_outputs_orphaned",
                "job_inputs_orphaned",
            ),
            0,
        )
    )
    objects_deleted: int = 0
    candidates: list[str] = field(default_factory=list)
    outputs: list[tuple[str, uuid.UUID]] = field(default_factory=list)
    inputs: list[tuple[str, str]] = field(default_factory=list)
    keep_inputs: frozenset[str] = frozenset()
    missing: list[tuple[uuid.UUID, str, bool]] = field(default_factory=list)
    restored: list[uuid.UUID] = field(default_factory=list)

    async def delete(self, keys: list[str], counter: str) -> None:
        """Count ``keys`` under ``counter``; delete them unless a dry run."""
        self.counts[counter] += len(keys)
        if self.dry_run:
            return
        for key in keys:
            await self.storage.delete(key)
            self.objects_deleted += 1

    async def orphan(self, key: str) -> None:
        self.candidates.append(key)
        if len(self.candidates) >= self.batch_size:
            await self.flush_orphans()

    async def flush_orphans(self) -> None:
        keys, self.candidates = self.candidates, []
        if not keys:
            return
        # A row may have appeared since the listing began: check again.
        known = set(
            (
                await self.session.scalars(
                    sa.select(Document.storage_key).where(Document.storage_key.in_(keys))
                )
            ).all()
        )
        orphans = [k for k in keys if k not in known]
        await self.delete(orphans, "orphan_objects")

    async def job_output(self, key: str, job_id: uuid.UUID) -> None:
        self.outputs.append((key, job_id))
        if len(self.outputs) >= self.batch_size:
            await self.flush_outputs()

    async def flush_outputs(self) -> None:
        """Delete the outputs listed whose job's row is gone."""
        outputs, self.outputs = self.outputs, []
        if not outputs:
            return
        ids = list({job_id for _, job_id in outputs})
        alive = set((await self.session.scalars(sa.select(Job.id).where(Job.id.in_(ids)))).all())
        gone = [key for key, job_id in outputs if job_id not in alive]
        await self.delete(gone, "job_outputs_orphaned")

    async def job_input(self, key: str) -> None:
        named = INPUT_NAME.search(key)
        if named is None or named.group(1) in self.keep_inputs:
            return
        self.inputs.append((key, named.group(1)))
        if len(self.inputs) >= self.batch_size:
            await self.flush_inputs()

    async def flush_inputs(self) -> None:
        """Delete the inputs listed that no job row names."""
        inputs, self.inputs = self.inputs, []
        if not inputs:
            return
        ids = sorted({input_id for _, input_id in inputs})
        rows = await self.session.execute(
            _NAMED_INPUTS, {"pattern": INPUT_NAME.pattern, "ids": ids}
        )
        named = {row[0] for row in rows}
        gone = [key for key, input_id in inputs if input_id not in named]
        await self.delete(gone, "job_inputs_orphaned")


def _check_order(previous: str | None, key: str) -> None:
    if previous is not None and previous.encode() >= key.encode():
        raise StorageError(
            "storage listing is not in key order; orphan scan stopped", key=key, after=previous
        )


async def find_orphans(
    session: AsyncSession,
    storage: Storage,
    *,
    min_age_s: int,
    now: datetime,
    dry_run: bool = False,
    batch_size: int = 500,
    prefix: str = "",
    input_min_age_s: int | None = None,
    keep_inputs: frozenset[str] = frozenset(),
) -> Summary:
    """Delete orphan objects and flag documents whose object is gone (see
    the module docstring). Idempotent: a second run deletes nothing more and
    flags nothing twice."""
    cutoff = now - timedelta(seconds=min_age_s)
    inputs_before = (
        None
        if input_min_age_s is None
        else now - timedelta(seconds=max(min_age_s, input_min_age_s))
    )
    run = _Pass(storage, session, dry_run, batch_size, keep_inputs=keep_inputs)
    query = (
        sa.select(
            Document.id,
            Document.storage_key,
            Document.status,
            Document.created_at,
            Document.meta.has_key(OBJECT_MISSING).label("flagged"),
        )
        .where(Document.storage_key.startswith(prefix, autoescape=True))
        .order_by(Document.storage_key.collate("C"))
        .execution_options(yield_per=batch_size)
    )
    rows_result = await session.stream(query)
    rows = rows_result.__aiter__()
    objects = storage.list(prefix)
    obj: StoredObject | None = await _next(objects)
    row: Any = await _next(rows)
    last_key: str | None = None
    try:
        while obj is not None or row is not None:
            if obj is not None and (row is None or obj.key.encode() < row.storage_key.encode()):
                _check_order(last_key, obj.key)
                last_key = obj.key
                run.counts["objects_scanned"] += 1
                if obj.last_modified < cutoff:
                    output_of = job_output_id(obj.key)
                    if output_of is not None:
                        await run.job_output(obj.key, output_of)
                    elif is_job_input_key(obj.key):
                        if inputs_before is not None and obj.last_modified < inputs_before:
                            await run.job_input(obj.key)
                    elif not is_job_object_key(obj.key):
                        await run.orphan(obj.key)
                obj = await _next(objects)
            elif obj is None or obj.key.encode() > row.storage_key.encode():
                expects_object = row.status not in _NO_OBJECT_EXPECTED
                if expects_object and row.created_at < cutoff:
                    run.missing.append((row.id, row.storage_key, bool(row.flagged)))
                row = await _next(rows)
            else:  # both sides hold the key
                _check_order(last_key, obj.key)
                last_key = obj.key
                run.counts["objects_scanned"] += 1
                if row.flagged:
                    run.restored.append(row.id)
                obj, row = await _next(objects), await _next(rows)
    finally:
        await rows_result.close()
    await run.flush_orphans()
    await run.flush_outputs()
    await run.flush_inputs()
    await _flag(run, now)
    counts = run.counts
    return Summary(
        "find_orphans",
        dry_run,
        matched=counts["orphan_objects"]
        + counts["job_outputs_orphaned"]
        + counts["job_inputs_orphaned"]
        + counts["documents_missing"],
        changed=0 if dry_run else counts["documents_flagged"] + counts["documents_unflagged"],
        objects_deleted=run.objects_deleted,
        details=counts,
    )


def _flag_value(now: datetime) -> Any:
    return sa.func.jsonb_build_object(
        sa.literal(OBJECT_MISSING, sa.Text), sa.literal(now.isoformat(), sa.Text)
    )


async def _flag(run: _Pass, now: datetime) -> None:
    to_flag: list[uuid.UUID] = []
    for doc_id, key, flagged in run.missing:
        # The listing may have passed the key just before the upload landed.
        if await run.storage.exists(key):
            continue
        run.counts["documents_missing"] += 1
        if not flagged:
            to_flag.append(doc_id)
    run.counts["documents_flagged"] = len(to_flag)
    run.counts["documents_unflagged"] = len(run.restored)
    if run.dry_run or not (to_flag or run.restored):
        await run.session.rollback()
        return
    if to_flag:
        await run.session.execute(
            sa.update(Document)
            .where(Document.id.in_(to_flag))
            .values(meta=Document.meta.op("||")(_flag_value(now)))
        )
    if run.restored:
        await run.session.execute(
            sa.update(Document)
            .where(Document.id.in_(run.restored))
            .values(meta=Document.meta.op("-")(sa.literal(OBJECT_MISSING, sa.Text)))
        )
    await run.session.commit()
