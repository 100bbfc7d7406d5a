"""Two real ``folio-scheduler`` processes (periodiq) side by side for a
minute or two: every task is sent once per tick, never twice."""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from schedkit import scheduler_env
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.models import Job
from folio_shared.maintenance.registry import TASKS
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCHEDULER = Path(sys.executable).with_name("folio-scheduler")
EVERY_MINUTE = ("expire_uploads", "purge_job_history", "reap_stuck_jobs", "relay_outbox")


def _env(settings: FolioSettings) -> dict[str, str]:
    # The daily tasks run twelve hours from now: with their default times
    # (04:15, 04:45 UTC) a run that spans one would see a regular tick too
    daily = f"0 {(datetime.now(UTC).hour + 12) % 24} * * *"
    return scheduler_env(
        settings,
        FOLIO_SCHEDULER_EXPIRE_UPLOADS_CRON="* * * * *",
        FOLIO_SCHEDULER_PURGE_JOB_HISTORY_CRON="* * * * *",
        FOLIO_SCHEDULER_FIND_ORPHANS_CRON=daily,
        FOLIO_SCHEDULER_APPLY_DOCUMENT_RETENTION_CRON=daily,
    )


async def _sent(engine: AsyncEngine) -> collections.Counter[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(Job.actor_name, Job.message))).all()
    names = {t.message_type.actor_name: t.name for t in TASKS}
    return collections.Counter((names[r.actor_name], r.message["payload"]["tick"]) for r in rows)


async def test_two_scheduler_processes_send_each_tick_once(
    settings: FolioSettings, engine: AsyncEngine
) -> None:
    procs = [
        subprocess.Popen([str(SCHEDULER)], env=_env(settings), stdout=subprocess.DEVNULL)
        for _ in range(2)
    ]
    try:
        # Wait for a catch-up tick and at least one regular tick of every
        # every-minute task (a minute boundary must pass)
        deadline = time.monotonic() + 150
        while True:
            sent = await _sent(engine)
            ticks = collections.defaultdict(set)
            for task, tick in sent:
                ticks[task].add(tick)
            if all(len(ticks[name]) >= 2 for name in EVERY_MINUTE):
                break
            assert all(p.poll() is None for p in procs), "a scheduler exited"
            assert time.monotonic() < deadline, f"ticks so far: {dict(ticks)}"
            await asyncio.sleep(1)
        await asyncio.sleep(2)  # the slower replica's attempt at the same tick
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    sent = await _sent(engine)
    # Every task, every tick: exactly one job
    assert set(sent.values()) == {1}, sent
    # The daily tasks were caught up once at start, then not due again
    daily = {name for name, _ in sent} - set(EVERY_MINUTE) - {"reembed_chunks"}
    assert daily == {"find_orphans", "apply_document_retention"}
    assert sum(1 for name, _ in sent if name in daily) == 2
    # every ten minutes: caught up at start, then at most one ten-minute tick
    assert 1 <= sum(1 for name, _ in sent if name == "reembed_chunks") <= 2
