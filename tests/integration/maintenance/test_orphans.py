"""Orphans, on the local backend and on S3 (moto): orphan objects older than
the grace age are deleted, documents whose object is gone are flagged; every
other object and row stays as it was."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared import maintenance
from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document, Job, Tenant
from folio_shared.storage import Storage

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.4 x"


async def _state(db: AsyncSession, storage: Storage) -> tuple[dict[str, Any], set[str]]:
    db.expire_all()
    rows = (await db.execute(sa.select(Document.storage_key, Document.meta))).all()
    keys = {o.key async for o in storage.list()}
    return {r.storage_key: dict(r.meta) for r in rows}, keys


async def test_find_orphans_deletes_old_orphans_and_flags_missing_objects(
    db: AsyncSession, storage: Storage
) -> None:
    # Given documents in every situation and objects with and without a row
    real_now = datetime.now(UTC)
    later = real_now + timedelta(hours=2)  # every object written now is 2 h old then
    tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
    db.add(tenant)
    await db.flush()

    def doc(key: str, status: DocumentStatus, age: timedelta, **meta: str) -> Document:
        return Document(
            tenant_id=tenant.id,
            filename="f.pdf",
            storage_key=key,
            status=status,
            created_at=later - age,
            meta=meta,
        )

    day = timedelta(days=1)
    db.add_all(
        [
            doc("docs/a-ok", DocumentStatus.READY, day),
            doc("docs/b-missing", DocumentStatus.READY, day),
            doc("docs/c-missing-young", DocumentStatus.PROCESSING, timedelta(minutes=10)),
            doc("docs/d-awaiting", DocumentStatus.AWAITING_UPLOAD, day),
            doc("docs/e-deleted", DocumentStatus.DELETED, day),
            doc("docs/f-restored", DocumentStatus.READY, day, object_missing="2026-01-01"),
            doc("docs/g-flagged", DocumentStatus.FAILED, day, object_missing="2026-01-01"),
            doc("docs/h-missing", DocumentStatus.UPLOADED, day),
        ]
    )
    await db.commit()
    jobs_objects = (
        f"tenants/{tenant.id}/inputs/0b9c/take.wav",
        f"tenants/{tenant.id}/jobs/7f3a/report.json",
        "jobs/7f3a/report.json",
    )
    for key in (
        "docs/a-ok",
        "docs/f-restored",
        "docs/a-orphan",
        "docs/z-orphan",
        "other/x",
        *jobs_objects,
    ):
        await storage.put_bytes(key, PDF, content_type="application/pdf")
    before = await _state(db, storage)

    # When it runs at the real time: every object is younger than the grace age
    young = await maintenance.find_orphans(db, storage, min_age_s=3600, now=real_now, dry_run=True)
    # Then no object is taken for an orphan
    assert young.details["orphan_objects"] == 0
    assert (await _state(db, storage))[1] == before[1]

    # When a dry run looks two hours later
    dry = await maintenance.find_orphans(db, storage, min_age_s=3600, now=later, dry_run=True)
    # Then it reports what it would do and changes nothing
    assert dry.dry_run
    assert dry.details == {
        "objects_scanned": 8,
        "orphan_objects": 3,
        "documents_missing": 3,
        "documents_flagged": 2,
        "documents_unflagged": 1,
        "job_outputs_orphaned": 0,
        "job_inputs_orphaned": 0,
    }
    assert (dry.changed, dry.objects_deleted) == (0, 0)
    assert await _state(db, storage) == before

    # When it runs for real (tiny batches, to cross batch boundaries)
    done = await maintenance.find_orphans(db, storage, min_age_s=3600, now=later, batch_size=2)
    assert done.details == dry.details
    assert (done.matched, done.changed, done.objects_deleted) == (6, 3, 3)
    metas, keys = await _state(db, storage)
    # Then the orphans are gone, and only them: jobs' inputs and outputs stay
    assert keys == {"docs/a-ok", "docs/f-restored", *jobs_objects}
    # And exactly the documents whose object is gone are flagged
    flagged = {k for k, m in metas.items() if maintenance.OBJECT_MISSING in m}
    assert flagged == {"docs/b-missing", "docs/g-flagged", "docs/h-missing"}
    assert metas["docs/g-flagged"]["object_missing"] == "2026-01-01"  # kept, not re-flagged
    assert set(metas) == set(before[0])  # no row deleted

    # And a second run finds nothing more to do (idempotent)
    again = await maintenance.find_orphans(db, storage, min_age_s=3600, now=later)
    assert (again.changed, again.objects_deleted) == (0, 0)
    assert again.details["documents_missing"] == 3
    assert await _state(db, storage) == (metas, keys)


async def test_find_orphans_limited_to_a_prefix(db: AsyncSession, storage: Storage) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    for key in ("keep/a", "scan/b"):
        await storage.put_bytes(key, PDF, content_type="application/pdf")
    done = await maintenance.find_orphans(db, storage, min_age_s=60, now=later, prefix="scan/")
    assert done.objects_deleted == 1
    assert {o.key async for o in storage.list()} == {"keep/a"}


async def test_find_orphans_deletes_the_outputs_of_purged_jobs(
    db: AsyncSession, storage: Storage
) -> None:
    # Given the outputs of a job still in the table, of a job whose row was
    # purged, and a job input
    real_now = datetime.now(UTC)
    later = real_now + timedelta(hours=2)
    tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
    db.add(tenant)
    await db.flush()
    kept = Job(tenant_id=tenant.id, actor_name="kind.x", queue_name="jobs")
    db.add(kept)
    await db.commit()
    purged = uuid.uuid4()
    stays = {
        f"tenants/{tenant.id}/jobs/{kept.id}/report.json",
        f"jobs/{kept.id}/report.json",
        f"tenants/{tenant.id}/inputs/{purged}/take.wav",
        "jobs/not-a-job-id/report.json",
    }
    goes = {f"tenants/{tenant.id}/jobs/{purged}/report.json", f"jobs/{purged}/a/b.json"}
    for key in stays | goes:
        await storage.put_bytes(key, PDF, content_type="application/pdf")

    # When it runs at the real time: the outputs are younger than the grace age
    young = await maintenance.find_orphans(db, storage, min_age_s=3600, now=real_now)
    assert young.objects_deleted == 0
    # When a dry run looks two hours later: two outputs, nothing deleted
    dry = await maintenance.find_orphans(db, storage, min_age_s=3600, now=later, dry_run=True)
    assert (dry.details["job_outputs_orphaned"], dry.objects_deleted) == (2, 0)
    # When it runs for real (batches of one)
    done = await maintenance.find_orphans(db, storage, min_age_s=3600, now=later, batch_size=1)
    # Then only the purged job's outputs are gone
    assert (done.details["job_outputs_orphaned"], done.objects_deleted) == (2, 2)
    assert {o.key async for o in storage.list()} == stays


async def test_find_orphans_deletes_old_inputs_no_job_or_schedule_names(
    db: AsyncSession, storage: Storage
) -> None:
    # Given job inputs named by a job's message, by a parent's completion
    # message, by a job's metadata, by a schedule, and by nothing at all
    real_now = datetime.now(UTC)
    month = timedelta(days=30)
    tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
    db.add(tenant)
    await db.flush()
    tenant_id = tenant.id
    ids = {name: uuid.uuid4() for name in ("message", "completion", "labels", "schedule", "none")}
    key = {name: f"tenants/{tenant.id}/inputs/{i}/in put.wav" for name, i in ids.items()}
    db.add_all(
        [
            Job(
                tenant_id=tenant.id,
                actor_name="kind.x",
                queue_name="jobs",
                message={"kwargs": {"payload": {"audio": key["message"]}}},
            ),
            Job(
                tenant_id=tenant.id,
                actor_name="kind.y",
                queue_name="jobs",
                on_complete={"kwargs": {"payload": {"inputs": [key["completion"]]}}},
                meta={"source": key["labels"]},
            ),
        ]
    )
    await db.commit()
    for k in key.values():
        await storage.put_bytes(k, PDF, content_type="audio/wav")
    everything = set(key.values())
    options: dict[str, Any] = {
        "min_age_s": 3600,
        "input_min_age_s": int(month.total_seconds()),
        "keep_inputs": frozenset({str(ids["schedule"])}),
    }

    # When it runs a day later: every input is younger than its retention
    young = await maintenance.find_orphans(db, storage, now=real_now + timedelta(days=1), **options)
    assert young.objects_deleted == 0
    # When it runs without an input retention, a month later: inputs stay
    kept = await maintenance.find_orphans(db, storage, min_age_s=3600, now=real_now + 2 * month)
    assert (kept.details["job_inputs_orphaned"], kept.objects_deleted) == (0, 0)
    assert {o.key async for o in storage.list()} == everything
    # When a dry run looks a month later: one input is named by nothing
    later = real_now + month + timedelta(hours=1)
    dry = await maintenance.find_orphans(db, storage, now=later, dry_run=True, **options)
    assert (dry.details["job_inputs_orphaned"], dry.objects_deleted) == (1, 0)
    # When it runs for real, in batches of one
    done = await maintenance.find_orphans(db, storage, now=later, batch_size=1, **options)
    # Then only the input nothing names is gone
    assert (done.details["job_inputs_orphaned"], done.objects_deleted) == (1, 1)
    assert {o.key async for o in storage.list()} == everything - {key["none"]}

    # When the jobs that named them are purged, the next run deletes those
    # inputs too, but never the one a schedule names
    await db.execute(sa.delete(Job).where(Job.tenant_id == tenant_id))
    await db.commit()
    purged = await maintenance.find_orphans(db, storage, now=later, **options)
    assert purged.objects_deleted == 3
    assert {o.key async for o in storage.list()} == {key["schedule"]}
