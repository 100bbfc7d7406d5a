"""The dead-letter workbench, pausing queues and the ops CLI, on real servers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import BuggyV1, ChildV1, EchoV1
from support.jobs import runs, wait_for, wait_status
from support.workers import RunningWorker

from folio_shared.jobs import Jobs
from folio_shared.ops import audit, dead, pause_queue, queue_stats, resume_queue
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


def stats_of(stats: list[object], queue: str) -> object:
    return next(s for s in stats if s.queue == queue)  # type: ignore[attr-defined]


async def test_a_bug_goes_dead_and_a_filtered_redrive_runs_it_once_after_the_fix(
    jobs: Jobs,
    worker: RunningWorker,
    engine: AsyncEngine,
    redis: aioredis.Redis,
    settings: FolioSettings,
) -> None:
    key = uuid.uuid4().hex[:8]
    ns = settings.broker.namespace
    # Given two jobs that hit a bug and exhaust their retries ...
    doomed = [uuid.uuid4(), uuid.uuid4()]
    for jid in doomed:
        await jobs.enqueue(BuggyV1(job_id=str(jid), key=key), max_retries=1)
    bystander = uuid.uuid4()
    await jobs.enqueue(EchoV1(job_id=str(bystander), key=key))
    for jid in doomed:
        failed = await wait_status(jobs, jid, "dead")
        assert failed.error_type == "RuntimeError"
        assert failed.attempts == 2
    await wait_status(jobs, bystander, "succeeded")

    # ... the workbench lists them, filtered, and explains every attempt.
    listed = await dead.list_dead(engine, dead.DeadFilter(actor="test.buggy", queue="documents"))
    assert {j.id for j in listed} == set(doomed)
    assert await dead.list_dead(engine, dead.DeadFilter(error_type="TimeoutError")) == []
    assert await dead.list_dead(engine, dead.DeadFilter(queue="ocr")) == []
    detail = await dead.inspect_job(engine, doomed[0])
    assert detail.payload["type"] == "test.buggy.v1"
    assert [(a.attempt, a.status) for a in detail.attempts] == [(1, "retried"), (2, "dead")]
    for a in detail.attempts:
        assert a.error_type == "RuntimeError"
        assert a.error_message == "bug in mode normal"
        assert a.traceback is not None
        assert "RuntimeError: bug in mode normal" in a.traceback
        assert "support/actors.py" in a.traceback
    stats = await queue_stats(redis, ns)
    assert stats_of(stats, "documents").dead == 2  # type: ignore[attr-defined]

    # When the bug is fixed and the filtered set is re-driven with a changed option ...
    await redis.set(f"test:{key}:fixed", "1")
    report = await dead.redrive(
        jobs,
        flt=dead.DeadFilter(actor="test.buggy", error_type="RuntimeError"),
        options={"mode": "safe"},
        actor="alice",
    )
    assert sorted(report.redriven) == sorted(doomed)

    # ... each job runs to success exactly once, with the new option.
    for jid in doomed:
        done = await wait_status(jobs, jid, "succeeded")
        assert done.result == {"mode": "safe"}
        assert done.attempts == 1
    await asyncio.sleep(0.5)  # a second delivery would show here
    for jid in doomed:
        assert await runs(redis, key, f"buggy-ok:{jid}") == 1
        assert await runs(redis, key, f"buggy:{jid}") == 3
    # The dead letters are gone from Redis too, and nothing is left to re-drive.
    stats = await queue_stats(redis, ns)
    assert stats_of(stats, "documents").dead == 0  # type: ignore[attr-defined]
    again = await dead.redrive(jobs, flt=dead.DeadFilter(actor="test.buggy"), actor="alice")
    assert again.redriven == []
    # The audit log says who re-drove what, with which filter and options.
    entries = await audit.recent(engine, action_prefix="dead.")
    redrives = [e for e in entries if e.action == "dead.redrive"]
    assert {e.target for e in redrives} == {f"job:{j}" for j in doomed}
    for e in redrives:
        assert e.actor == "alice"
        assert e.details["options"] == {"mode": "safe"}
        assert e.details["filter"]["actor"] == "test.buggy"
    # The second run is its own run in the job's history.
    detail = await dead.inspect_job(engine, doomed[0])
    assert [(a.run, a.attempt, a.status) for a in detail.attempts] == [
        (0, 1, "retried"),
        (0, 2, "dead"),
        (1, 1, "succeeded"),
    ]


async def test_purge_deletes_dead_jobs_and_their_dead_letters_and_is_audited(
    jobs: Jobs,
    worker: RunningWorker,
    engine: AsyncEngine,
    redis: aioredis.Redis,
    settings: FolioSettings,
) -> None:
    key = uuid.uuid4().hex[:8]
    jid = uuid.uuid4()
    await jobs.enqueue(BuggyV1(job_id=str(jid), key=key), max_retries=0)
    await wait_status(jobs, jid, "dead")
    gone = await dead.purge(jobs, job_ids=[jid, uuid.uuid4()], actor="bob")
    assert gone == [jid]
    assert all(j.id != jid for j in await dead.list_dead(engine))
    stats = await queue_stats(redis, settings.broker.namespace)
    assert stats_of(stats, "documents").dead == 0  # type: ignore[attr-defined]
    entries = await audit.recent(engine, action_prefix="dead.purge")
    assert any(e.target == f"job:{jid}" and e.actor == "bob" for e in entries)


async def test_pause_stops_consuming_that_queue_only_and_resume_restarts_it(
    jobs: Jobs,
    worker: RunningWorker,
    engine: AsyncEngine,
    redis: aioredis.Redis,
    settings: FolioSettings,
) -> None:
    key = uuid.uuid4().hex[:8]
    ns = settings.broker.namespace
    assert await pause_queue(redis, ns, "ocr", engine=engine, actor="carol")
    await asyncio.sleep(0.3)  # every worker polls the paused set (50 ms here)

    # Sending still works; the OCR pages wait, the documents queue runs.
    pages = [uuid.uuid4() for _ in range(3)]
    for i, jid in enumerate(pages):
        await jobs.enqueue(ChildV1(job_id=str(jid), key=key, index=i, page_no=i + 1))
    echo = uuid.uuid4()
    await jobs.enqueue(EchoV1(job_id=str(echo), key=key))
    await wait_status(jobs, echo, "succeeded")
    await asyncio.sleep(1.5)
    for jid in pages:
        job = await jobs.get(jid)
        assert str(job.status) == "queued"
        assert job.attempts == 0
        assert await runs(redis, key, f"child:{jid}") == 0
    ocr = stats_of(await queue_stats(redis, ns), "ocr")
    assert ocr.paused  # type: ignore[attr-defined]
    assert ocr.ready + ocr.delayed >= 3  # type: ignore[attr-defined]

    # Resume: every page runs, once.
    assert await resume_queue(redis, ns, "ocr", engine=engine, actor="carol")
    for jid in pages:
        done = await wait_status(jobs, jid, "succeeded")
        assert done.attempts == 1
        assert await runs(redis, key, f"child:{jid}") == 1
    actions = [e.action for e in await audit.recent(engine, action_prefix="queue.")]
    assert actions[:2] == ["queue.resume", "queue.pause"]


def folio(settings: FolioSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FOLIO_DATABASE_URL": settings.database.url,
        "FOLIO_REDIS_URL": settings.redis.url,
        "FOLIO_BROKER_NAMESPACE": settings.broker.namespace,
        "FOLIO_LOG_FORMAT": "console",
    }
    return subprocess.run(
        [sys.executable, "-m", "folio_cli.app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_cli_shows_queues_workers_and_drives_the_workbench(
    jobs: Jobs, worker: RunningWorker, redis: aioredis.Redis, settings: FolioSettings
) -> None:
    key = uuid.uuid4().hex[:8]
    jid = uuid.uuid4()
    await jobs.enqueue(BuggyV1(job_id=str(jid), key=key), max_retries=0)
    await wait_status(jobs, jid, "dead")

    queues = folio(settings, "queues", "--json")
    assert queues.returncode == 0, queues.stderr
    documents = next(q for q in json.loads(queues.stdout) if q["queue"] == "documents")
    assert documents["dead"] == 1
    assert documents["finished"].get("dead") == 1
    table = folio(settings, "queues")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["QUEUE", "READY", "DELAYED"]

    async def registered() -> bool:
        out = folio(settings, "workers", "--json")
        return out.returncode == 0 and bool(json.loads(out.stdout))

    await wait_for(registered, what="the worker in `folio workers`")

    listed = folio(settings, "dead", "list", "--actor", "test.buggy", "--json")
    assert [j["id"] for j in json.loads(listed.stdout)] == [str(jid)]
    shown = folio(settings, "dead", "show", str(jid))
    assert shown.returncode == 0, shown.stderr
    assert "RuntimeError: bug in mode normal" in shown.stdout
    refused = folio(settings, "dead", "redrive")
    assert refused.returncode == 1
    assert "choose jobs" in refused.stderr

    await redis.set(f"test:{key}:fixed", "1")
    redrive = folio(settings, "dead", "redrive", str(jid), "-o", "mode=cli", "--as", "dave")
    assert redrive.returncode == 0, redrive.stderr
    assert "re-driven: 1" in redrive.stdout
    done = await wait_status(jobs, jid, "succeeded")
    assert done.result == {"mode": "cli"}

    paused = folio(settings, "queue", "pause", "maintenance")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(folio(settings, "queue", "list", "--json").stdout) == {
        "paused": ["maintenance"]
    }
    unknown = folio(settings, "queue", "pause", "nope")
    assert unknown.returncode == 1
    assert folio(settings, "queue", "resume", "maintenance").returncode == 0
    shown = folio(settings, "jobs", "show", str(jid), "--json")
    assert json.loads(shown.stdout)["job"]["status"] == "succeeded"
