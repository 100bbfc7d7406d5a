"""``folio maintenance``: the real console script against a real database,
Redis and local storage. ``--dry-run`` changes nothing; a run is idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document, Tenant
from folio_shared.maintenance.registry import TASKS
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration

FOLIO = Path(sys.executable).with_name("folio")


def folio(
    settings: FolioSettings, *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    env.update(env_extra or {})
    env.update(
        FOLIO_ENV="test",
        FOLIO_DATABASE_URL=settings.database.url,
        FOLIO_REDIS_URL=settings.redis.url,
        FOLIO_BROKER_NAMESPACE=settings.broker.namespace,
        FOLIO_STORAGE_LOCAL_ROOT=str(settings.storage.local_root),
        FOLIO_LOG_LEVEL="WARNING",
    )
    return subprocess.run(
        [str(FOLIO), "maintenance", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_json(
    settings: FolioSettings, *args: str, env_extra: dict[str, str] | None = None
) -> dict[str, Any]:
    done = folio(settings, *args, "--json", env_extra=env_extra)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def _state(engine: AsyncEngine, root: Path) -> tuple[set[str], set[str]]:
    async with engine.connect() as conn:
        rows = set((await conn.scalars(sa.select(Document.storage_key))).all())
    objects = {str(p.relative_to(root / "objects")) for p in (root / "objects").rglob("*")}
    return rows, {o for o in objects if (root / "objects" / o).is_file()}


async def test_cli_dry_run_changes_nothing_and_runs_are_idempotent(
    settings: FolioSettings, engine: AsyncEngine
) -> None:
    # Given an abandoned upload with a partial object, and a fresh one
    root = settings.storage.local_root
    async with engine.begin() as conn:
        tenant_id = await conn.scalar(
            sa.insert(Tenant).values(name=f"t-{uuid.uuid4().hex[:6]}").returning(Tenant.id)
        )
        for key, age in (("c/stale", timedelta(days=2)), ("c/fresh", timedelta(0))):
            await conn.execute(
                sa.insert(Document).values(
                    tenant_id=tenant_id,
                    filename="f.pdf",
                    storage_key=key,
                    status=DocumentStatus.AWAITING_UPLOAD.value,
                    created_at=datetime.now(UTC) - age,
                )
            )
    for key in ("c/stale", "c/fresh"):
        (root / "objects" / key).parent.mkdir(parents=True, exist_ok=True)
        (root / "objects" / key).write_bytes(b"%PDF-1.4 partial")
    before = await _state(engine, root)

    # When every task runs with --dry-run
    for task in TASKS:
        summary = run_json(settings, task.command, "--dry-run")
        assert summary["dry_run"] is True
        assert (summary["changed"], summary["objects_deleted"]) == (0, 0)
    # Then nothing changed
    assert await _state(engine, root) == before
    dry = run_json(settings, "expire-uploads", "--dry-run")
    assert dry["matched"] == 1

    # When the task runs for real, twice
    first = run_json(settings, "expire-uploads")
    second = run_json(settings, "expire-uploads")
    # Then it did exactly its work once
    assert (first["matched"], first["changed"], first["objects_deleted"]) == (1, 1, 1)
    assert (second["matched"], second["changed"], second["objects_deleted"]) == (0, 0, 0)
    assert await _state(engine, root) == ({"c/fresh"}, {"c/fresh"})

    # And the human-readable form says the same
    text = folio(settings, "expire-uploads", "--dry-run")
    assert text.returncode == 0, text.stderr
    assert "dry run: nothing changed" in text.stdout


async def test_cli_find_orphans_keeps_the_inputs_a_schedule_names(
    settings: FolioSettings, engine: AsyncEngine
) -> None:
    # Given two job inputs uploaded 40 days ago that no job names, one of
    # them named by a schedule's payload
    root = settings.storage.local_root
    tenant, named, unnamed = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    schedule = [
        {"name": "monthly", "cron": "0 2 1 * *", "kind": "reports.build",
         "payload": {"template": f"tenants/{tenant}/inputs/{named}/t.docx"}},
    ]  # fmt: skip
    aged = (datetime.now(UTC) - timedelta(days=40)).timestamp()
    for input_id in (named, unnamed):
        path = root / "objects" / f"tenants/{tenant}/inputs/{input_id}/t.docx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (aged, aged))
    env = {"FOLIO_SCHEDULER_JOBS": json.dumps(schedule)}

    # When find-orphans runs with the default input retention (30 days)
    done = run_json(settings, "find-orphans", env_extra=env)
    # Then the input nothing names is deleted, the schedule's stays
    assert done["details"]["job_inputs_orphaned"] == 1
    _, objects = await _state(engine, root)
    assert {o for o in objects if "/inputs/" in o} == {f"tenants/{tenant}/inputs/{named}/t.docx"}
    # And with a retention of 0 nothing is ever deleted
    kept = run_json(
        settings,
        "find-orphans",
        env_extra={**env, "FOLIO_SCHEDULER_JOBS": "[]", "FOLIO_JOBS_INPUT_RETENTION_DAYS": "0"},
    )
    assert kept["objects_deleted"] == 0


def test_cli_list_shows_every_task_and_its_cron(settings: FolioSettings) -> None:
    done = folio(settings, "list", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["task"] for r in rows] == [t.name for t in TASKS]
    assert {r["task"]: r["cron"] for r in rows}["reap_stuck_jobs"] == "* * * * *"
    table = folio(settings, "list")
    assert table.returncode == 0, table.stderr
    assert "apply-document-retention" in table.stdout


def test_cli_reports_an_unreachable_database(settings: FolioSettings) -> None:
    broken = settings.model_copy(
        update={
            "database": settings.database.model_copy(
                update={"url": "postgresql+asyncpg://postgres@127.0.0.1:9/x"}
            )
        }
    )
    done = folio(broken, "purge-job-history", "--dry-run")
    assert done.returncode == 2
    assert "error:" in done.stderr
