"""``folio maintenance``: run a maintenance task inline, or list them.

Each task is a command (``folio maintenance expire-uploads``, ...) that runs
the same code as worker-docs' maintenance actor, in this process, and prints
what it did — or, with ``--dry-run``, what it would do, changing nothing.
Every task is idempotent: running it again finds nothing more to do.
``--json`` prints the summary as one JSON object instead.
``folio maintenance list`` shows each task's cron, the last tick the
scheduler sent for it and its last job.

Exit codes: as for every ``folio`` command (:mod:`folio_cli.errors`); a
storage failure is 2.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import redis.asyncio as aioredis
import sqlalchemy as sa
import typer

from folio_cli.admin.servers import run
from folio_shared.broker import create_broker
from folio_shared.db.engine import create_engine, create_session_factory
from folio_shared.db.models import Job
from folio_shared.maintenance import TASKS, Summary, TaskContext
from folio_shared.maintenance import run as run_task
from folio_shared.maintenance.registry import cron_of, last_tick_key
from folio_shared.messages import (
    ApplyDocumentRetentionV1,
    ExpireUploadsV1,
    FindOrphansV1,
    MaintenanceMessage,
    PurgeJobHistoryV1,
    ReapStuckJobsV1,
    ReembedChunksV1,
    RelayOutboxV1,
)
from folio_shared.settings import get_settings
from folio_shared.storage import create_storage

maintenance_app = typer.Typer(
    help="Run maintenance tasks now (--dry-run: report only), or list them.",
    no_args_is_help=True,
)

DRY_RUN = typer.Option(False, "--dry-run", help="Report what would change; change nothing.")
AS_JSON = typer.Option(False, "--json", help="Print the summary as JSON.")
BATCH = typer.Option(None, "--batch-size", min=1, max=100_000, help="Rows or objects per batch.")


async def _run_inline(msg: MaintenanceMessage) -> Summary:
    settings = get_settings()
    engine = create_engine(settings)
    storage = create_storage(settings)
    client = aioredis.Redis.from_url(settings.redis.url)
    broker = create_broker(settings)
    try:
        await storage.open()
        ctx = TaskContext(
            settings=settings,
            engine=engine,
            sessions=create_session_factory(engine),
            storage=storage,
            redis=client,
            broker=broker,
        )
        return await run_task(msg, ctx)
    finally:
        broker.close()
        await storage.close()
        await client.aclose()
        await engine.dispose()


def _execute(msg: MaintenanceMessage, as_json: bool) -> None:
    summary = run(_run_inline(msg))
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), sort_keys=True))
        return
    verb = "would change" if summary.dry_run else "changed"
    typer.echo(f"task:            {summary.task}{' (dry run: nothing changed)' * summary.dry_run}")
    typer.echo(f"matched:         {summary.matched}")
    typer.echo(f"rows {verb + ':':11} {summary.matched if summary.dry_run else summary.changed}")
    typer.echo(f"objects deleted: {summary.objects_deleted}")
    for name, value in summary.details.items():
        typer.echo(f"  {name}: {value}")


@maintenance_app.command("expire-uploads")
def expire_uploads(
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
    batch_size: int | None = BATCH,
    abandoned_after_s: int | None = typer.Option(
        None, "--abandoned-after-s", min=0, help="Default: FOLIO_UPLOAD_ABANDONED_AFTER_S."
    ),
) -> None:
    """Delete presigned uploads never completed (object and row)."""
    _execute(
        ExpireUploadsV1(
            dry_run=dry_run, batch_size=batch_size, abandoned_after_s=abandoned_after_s
        ),
        as_json,
    )


@maintenance_app.command("find-orphans")
def find_orphans(
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
    batch_size: int | None = BATCH,
    min_age_s: int | None = typer.Option(
        None, "--min-age-s", min=0, help="Leave younger objects alone (default 3600)."
    ),
) -> None:
    """Delete stored objects no document refers to; flag documents whose
    object is gone (metadata ``object_missing``)."""
    _execute(FindOrphansV1(dry_run=dry_run, batch_size=batch_size, min_age_s=min_age_s), as_json)


@maintenance_app.command("purge-job-history")
def purge_job_history(
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
    batch_size: int | None = BATCH,
    retention_days: int | None = typer.Option(
        None, "--retention-days", min=1, help="Default: FOLIO_JOBS_RETENTION_DAYS."
    ),
) -> None:
    """Delete finished jobs and their events older than the retention."""
    _execute(
        PurgeJobHistoryV1(dry_run=dry_run, batch_size=batch_size, retention_days=retention_days),
        as_json,
    )


@maintenance_app.command("reap-stuck-jobs")
def reap_stuck_jobs(
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
    batch_size: int | None = BATCH,
    grace_ms: int | None = typer.Option(
        None, "--grace-ms", min=0, help="Lost-message grace (default FOLIO_JOBS_LOST_AFTER_MS)."
    ),
) -> None:
    """Re-send or quarantine jobs whose worker died; re-send lost messages."""
    _execute(ReapStuckJobsV1(dry_run=dry_run, batch_size=batch_size, grace_ms=grace_ms), as_json)


@maintenance_app.command("relay-outbox")
def relay_outbox(
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
    batch_size: int | None = BATCH,
    min_age_ms: int | None = typer.Option(
        None, "--min-age-ms", min=0, help="Only jobs older than this (default 5000)."
    ),
) -> None:
    """Send jobs committed but never sent (the broker was down)."""
    _execute(RelayOutboxV1(dry_run=dry_run, batch_size=batch_size, min_age_ms=min_age_ms), as_json)


@maintenance_app.command("apply-document-retention")
def apply_document_retention(
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
    batch_size: int | None = BATCH,
    tenant_id: uuid.UUID | None = typer.Option(None, "--tenant-id", help="Only this tenant."),
) -> None:
    """Delete documents older than their tenant's retention."""
    _execute(
        ApplyDocumentRetentionV1(
            dry_run=dry_run,
            batch_size=batch_size,
            tenant_id=str(tenant_id) if tenant_id else None,
        ),
        as_json,
    )


@maintenance_app.command("reembed-chunks")
def reembed_chunks(
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
    tenant_id: uuid.UUID | None = typer.Option(None, "--tenant-id", help="Only this tenant."),
) -> None:
    """Count the documents whose chunks an embedding model change left on
    another model (--dry-run). The re-embedding itself needs the models:
    worker-docs runs it on the scheduler's tick, or folio-worker-docs-reembed."""
    _execute(
        ReembedChunksV1(dry_run=dry_run, tenant_id=str(tenant_id) if tenant_id else None),
        as_json,
    )


async def _listing() -> list[dict[str, Any]]:
    settings = get_settings()
    engine = create_engine(settings)
    client = aioredis.Redis.from_url(settings.redis.url)
    rows: list[dict[str, Any]] = []
    try:
        async with create_session_factory(engine)() as session:
            for task in TASKS:
                last = await client.get(last_tick_key(settings.broker.namespace, task.name))
                job = (
                    await session.scalars(
                        sa.select(Job)
                        .where(Job.actor_name == task.message_type.actor_name)
                        .order_by(Job.created_at.desc())
                        .limit(1)
                    )
                ).first()
                rows.append(
                    {
                        "task": task.name,
                        "command": task.command,
                        "cron": cron_of(settings.scheduler, task),
                        "description": task.description,
                        "last_tick": last.decode() if isinstance(last, bytes) else last,
                        "last_job": None
                        if job is None
                        else {
                            "id": str(job.id),
                            "status": str(job.status),
                            "created_at": job.created_at.isoformat(),
                            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
                            "result": job.result,
                        },
                    }
                )
    finally:
        await client.aclose()
        await engine.dispose()
    return rows


@maintenance_app.command("list")
def list_tasks(as_json: bool = AS_JSON) -> None:
    """List the tasks: cron (UTC), last tick sent, last job."""
    rows = run(_listing())
    if as_json:
        typer.echo(json.dumps(rows, sort_keys=True))
        return
    typer.echo(f"{'TASK':26}  {'CRON':12}  {'LAST TICK':25}  LAST JOB")
    for row in rows:
        job = row["last_job"]
        shown = "-" if job is None else f"{job['status']} {job['finished_at'] or job['created_at']}"
        typer.echo(f"{row['command']:26}  {row['cron']:12}  {row['last_tick'] or '-':25}  {shown}")
