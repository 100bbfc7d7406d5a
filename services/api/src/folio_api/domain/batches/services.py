"""Creating a batch and reading its status.

A batch and its members are written in one transaction (the outbox), then
sent. Members are counted as they reach a final state by the job engine
(:mod:`folio_shared.jobs.batches`), which also writes the completion job,
once, with the last count.
"""

from __future__ import annotations

import uuid

import msgspec
import sqlalchemy as sa

from folio_api.domain.batches.schemas import BatchCreate, BatchOut
from folio_api.domain.jobs import submit
from folio_api.domain.jobs.schemas import job_ref
from folio_api.resources import Resources
from folio_shared.db.models import Batch, Job
from folio_shared.errors import BatchNotFound, InvalidInput
from folio_shared.jobs import outbox
from folio_shared.jobs.batches import FINAL, JOB_KEY


async def create_batch(
    resources: Resources, tenant_id: uuid.UUID | None, ask: BatchCreate
) -> BatchOut:
    """Check every member and the completion job, write them, send the members."""
    limits = await submit.limits_of(resources, tenant_id)
    assert resources.sessions is not None
    assert resources.jobs is not None
    async with resources.sessions() as session:
        members = [
            await submit.plan(session, limits, job, field=f"jobs[{i}].")
            for i, job in enumerate(ask.jobs)
        ]
        on_complete = None
        if ask.on_complete is not None:
            if ask.on_complete.delay_ms is not None or ask.on_complete.run_at is not None:
                raise InvalidInput("body field 'on_complete': a completion job runs at once")
            done = await submit.plan(session, limits, ask.on_complete, field="on_complete.")
            on_complete = {
                **done.envelope,
                JOB_KEY: {
                    "priority": done.priority.value,
                    "max_retries": done.max_retries,
                    "metadata": done.meta,
                },
            }
        batch = Batch(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            total=len(members),
            on_complete=on_complete,
            meta=dict(ask.metadata or {}),
        )
        session.add(batch)
        await session.flush()  # the members refer to it
        jobs = [submit.write(session, m, tenant_id, batch_id=batch.id) for m in members]
        await session.commit()
        ids = outbox.pending_ids(session)
    await resources.jobs.dispatch(ids)
    out = await get_batch(resources, tenant_id, batch.id)
    return _with_jobs(out, jobs)


_COUNTS = sa.text(
    f"""
    SELECT status, count(*) AS n,
      sum(CASE WHEN status IN {FINAL!r} THEN 100 ELSE progress END) AS points
    FROM jobs WHERE batch_id = :id GROUP BY status
    """  # noqa: S608 - FINAL is this module's constant
)


async def get_batch(
    resources: Resources, tenant_id: uuid.UUID | None, batch_id: uuid.UUID
) -> BatchOut:
    assert resources.sessions is not None
    async with resources.sessions() as session:
        batch = await session.get(Batch, batch_id)
        if batch is None or (tenant_id is not None and batch.tenant_id != tenant_id):
            raise BatchNotFound(f"no batch {batch_id}", batch_id=str(batch_id))
        rows = (await session.execute(_COUNTS, {"id": batch_id})).all()
    counts = {str(r.status): int(r.n) for r in rows}
    points = sum(int(r.points or 0) for r in rows)
    state = "running"
    if batch.finished >= batch.total:
        state = "failed" if batch.failed else "succeeded"
    return BatchOut(
        id=batch.id,
        state=state,
        total=batch.total,
        finished=batch.finished,
        failed=batch.failed,
        counts=counts,
        progress=points // batch.total if batch.total else 100,
        completion_job_id=batch.completion_job_id,
        metadata=batch.meta,
        created_at=batch.created_at,
        finished_at=batch.finished_at,
    )


def _with_jobs(out: BatchOut, jobs: list[Job]) -> BatchOut:
    return msgspec.structs.replace(out, jobs=[job_ref(j) for j in jobs])
