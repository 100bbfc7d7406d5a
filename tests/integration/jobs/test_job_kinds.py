"""Job kinds declared with the SDK, run end to end by Folio's job engine:
enqueued through the outbox, run by a real worker on real Redis and
PostgreSQL, with progress, cancel, retries, results, dead letters and
child jobs, for ``async def`` and plain ``def`` kinds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import msgspec
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from support import kinds as k
from support.jobs import at_least, counter, drop_namespace, state_history, wait_for, wait_status
from support.workers import TESTS_DIR, free_port, late_beat, tune, worker_id
from support.workers import kind_worker as serving

from folio_devstack.workers import worker_env
from folio_shared.broker import create_broker
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import JobKind, JobKindWorker, Tenant
from folio_shared.errors import InvalidInput
from folio_shared.jobs import Jobs, outbox
from folio_shared.jobs.middleware import JobTracking
from folio_shared.kinds import Kind
from folio_shared.kinds.record import KindWorkers
from folio_shared.ops import pause_queue, queue_stats, resume_queue, snapshot
from folio_shared.ops.pause import QueuePause
from folio_shared.settings import FolioSettings
from folio_shared.storage import create_storage

pytestmark = pytest.mark.integration

KINDS = [k.nap, k.add, k.split, k.part, k.merge, k.copy, k.linger, k.grind]


@pytest.fixture
def kind_worker(settings: FolioSettings) -> Iterator[dramatiq.Broker]:
    with serving(settings, KINDS) as broker:
        yield broker


@pytest.fixture
async def kjobs(
    engine: AsyncEngine, kind_worker: dramatiq.Broker, settings: FolioSettings
) -> AsyncIterator[Jobs]:
    client = aioredis.Redis.from_url(settings.redis.url)
    yield Jobs(engine, kind_worker, client)
    await client.aclose()


async def submit(
    jobs: Jobs, kind: Kind, payload: msgspec.Struct | dict[str, Any], **options: Any
) -> uuid.UUID:
    """Enqueue a job of ``kind`` as the API does (outbox, then dispatch)."""
    env = kind.envelope(payload)
    return await submit_envelope(jobs, env, **options)


async def submit_envelope(jobs: Jobs, env: dict[str, Any], **options: Any) -> uuid.UUID:
    async with create_session_factory(jobs.engine)() as session:
        job = outbox.enqueue_envelope(session, env, **options)
        await session.commit()
        ids = outbox.pending_ids(session)
    await jobs.dispatch(ids)
    return job.id


async def test_an_async_kind_runs_end_to_end_with_progress_and_a_result(
    kjobs: Jobs, engine: AsyncEngine, key: str
) -> None:
    job_id = await submit(kjobs, k.nap, k.Nap(key=key, value=7, steps=3), meta={"who": "test"})
    done = await wait_status(kjobs, job_id, "succeeded")
    assert done.actor_name == "test.nap"
    assert done.result == {"value": 7, "attempt": 1, "steps": 3}
    assert done.meta == {"who": "test"}
    assert await state_history(engine, job_id) == ["pending", "queued", "running", "succeeded"]
    events = await kjobs.events(job_id)
    progress = [e.data for e in events if e.type == "progress"]
    assert progress
    assert progress[0]["stage"] == "napping"
    assert events[-1].terminal


async def test_a_sync_kind_runs_in_a_worker_thread(kjobs: Jobs, key: str) -> None:
    job_id = await submit(kjobs, k.add, k.Add(key=key, a=2, b=40))
    done = await wait_status(kjobs, job_id, "succeeded")
    assert done.result == {"total": 42, "thread": "worker"}
    assert done.stage == "adding"


async def test_a_transient_failure_is_retried_then_succeeds(
    kjobs: Jobs, key: str, settings: FolioSettings
) -> None:
    job_id = await submit(kjobs, k.nap, k.Nap(key=key, fail_times=2))
    done = await wait_status(kjobs, job_id, "succeeded")
    assert done.attempts == 3
    assert done.result == {"value": 0, "attempt": 3, "steps": 1}
    assert await counter(settings, key, f"nap:{job_id}") == 3


@pytest.mark.parametrize(
    ("kind", "what", "stage"),
    [(k.nap, "nap:steps", "napping"), (k.grind, "grind:steps", "grinding")],
    ids=["async", "sync"],
)
async def test_a_running_job_stops_at_its_next_progress_when_cancelled(
    kjobs: Jobs, key: str, settings: FolioSettings, kind: Kind, what: str, stage: str
) -> None:
    payload = k.Nap(key=key, steps=400, step_ms=25) if kind is k.nap else k.Grind(key=key)
    job_id = await submit(kjobs, kind, payload)
    await wait_for(lambda: at_least(counter(settings, key, what), 3), what="steps")
    await kjobs.cancel(job_id)
    cancelled = await wait_status(kjobs, job_id, "cancelled")
    assert cancelled.error_type == "JobCancelled"
    assert cancelled.stage == stage
    steps = await counter(settings, key, what)
    assert steps < 400
    # it stopped: no step runs after the cancel was recorded
    await wait_for(lambda: _same_after(settings, key, steps, what), what="no more steps")


async def _same_after(settings: FolioSettings, key: str, steps: int, what: str) -> bool:
    await asyncio.sleep(0.3)
    return await counter(settings, key, what) == steps


async def test_an_async_kind_past_its_time_limit_is_cut_and_recorded_as_a_timeout(
    kjobs: Jobs, key: str, settings: FolioSettings
) -> None:
    job_id = await submit(kjobs, k.linger, k.Linger(key=key))
    dead = await wait_status(kjobs, job_id, "dead")
    assert dead.error_type == "TimeLimitExceeded"
    assert str(dead.cause) == "timeout"
    assert await counter(settings, key, "linger:started") == 1
    await asyncio.sleep(0.5)
    assert await counter(settings, key, "linger:finished") == 0


async def test_an_unknown_payload_version_is_dead_lettered_and_the_worker_keeps_running(
    kjobs: Jobs, key: str
) -> None:
    env = k.nap.envelope(k.Nap(key=key))
    env["payload"]["type"] = "test.nap.v9"
    bad = await submit_envelope(kjobs, env)
    dead = await wait_status(kjobs, bad, "dead")
    assert dead.error_type == "UnsupportedMessageVersion"
    assert "v9 is not known" in (dead.error_message or "")
    assert dead.attempts == 1
    # the worker is still there
    good = await submit(kjobs, k.nap, k.Nap(key=key, value=1))
    assert (await wait_status(kjobs, good, "succeeded")).result["value"] == 1  # type: ignore[index]


async def test_an_invalid_payload_is_dead_with_the_field_named(kjobs: Jobs, key: str) -> None:
    bad = await submit(kjobs, k.nap, {"key": key, "steps": "many"})
    dead = await wait_status(kjobs, bad, "dead")
    assert dead.error_type == "InvalidMessage"
    assert "$.steps" in (dead.error_message or "")


async def test_child_jobs_fan_out_and_one_completion_step_gives_the_result(
    kjobs: Jobs, key: str, settings: FolioSettings
) -> None:
    job_id = await submit(kjobs, k.split, k.Split(key=key, parts=4))
    done = await wait_status(kjobs, job_id, "succeeded")
    assert done.result == {"squares": [0, 1, 4, 9], "statuses": ["succeeded"] * 4}
    assert await counter(settings, key, "merge") == 1
    assert done.children_total == 4


async def test_a_job_reads_its_tenants_objects_and_writes_under_its_own_prefix(
    kjobs: Jobs, settings: FolioSettings
) -> None:
    async with create_session_factory(kjobs.engine)() as session:
        tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
        session.add(tenant)
        await session.commit()
    own = f"tenants/{tenant.id}/uploads/in.txt"
    foreign = f"tenants/{uuid.uuid4()}/uploads/in.txt"
    async with create_storage(settings) as storage:
        for key in (own, foreign):
            await storage.put_bytes(key, b"hello", content_type="text/plain")
        job_id = await submit(kjobs, k.copy, k.Copy(key=own), tenant_id=tenant.id)
        done = await wait_status(kjobs, job_id, "succeeded")
        assert done.result == {"output": f"tenants/{tenant.id}/jobs/{job_id}/upper.txt"}
        assert await storage.get_bytes(done.result["output"]) == b"HELLO"
        # another tenant's object: failed at once, with the reason
        refused = await submit(kjobs, k.copy, k.Copy(key=foreign), tenant_id=tenant.id)
        failed = await wait_status(kjobs, refused, "failed")
        assert failed.error_type == "Forbidden"
        assert failed.attempts == 1


async def test_a_stopping_worker_deletes_its_rows_and_keeps_the_kinds(
    settings: FolioSettings, engine: AsyncEngine
) -> None:
    broker = create_broker(settings)
    broker.add_middleware(KindWorkers([k.add]), before=JobTracking)
    tune(broker, metrics_port=free_port())
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    me = worker_id(broker)

    async def rows() -> tuple[int, int]:
        async with engine.connect() as conn:
            kinds = await conn.scalar(
                sa.select(sa.func.count()).select_from(JobKind).where(JobKind.name == "test.add")
            )
            # this worker's rows: another test's killed worker may have left its own
            workers = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(JobKindWorker)
                .where(JobKindWorker.kind == "test.add", JobKindWorker.worker == me)
            )
        return int(kinds or 0), int(workers or 0)

    try:
        assert await wait_for(lambda: _equals(rows(), (1, 1)), what="rows") is True
    finally:
        worker.stop(timeout=10_000)
        broker.close()
        drop_namespace(settings.redis.url, settings.broker.namespace)
    assert await rows() == (1, 0)

    # And a heartbeat that was already running when it stopped, finding the
    # rows gone, does not bring them back (as it does after a purge)
    kinds = next(m for m in broker.middleware if isinstance(m, KindWorkers))
    await asyncio.get_running_loop().run_in_executor(None, late_beat, kinds)
    assert await rows() == (1, 0)


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def test_a_kinds_queue_pauses_and_resumes_like_folios_own(
    kjobs: Jobs,
    engine: AsyncEngine,
    settings: FolioSettings,
    key: str,
    kind_worker: dramatiq.Broker,
) -> None:
    ns = settings.broker.namespace
    client = kjobs.redis
    # Given the worker recorded its kinds (their queue is known by then)
    await wait_for(lambda: _kind_recorded(engine, "test.nap"), what="job_kinds rows")
    assert await pause_queue(client, ns, "kinds-test", engine=engine, actor="carol")
    # and its pause middleware has read the paused set (polled every 50 ms
    # here; a fixed sleep was too short on a loaded machine)
    (pause,) = [m for m in kind_worker.middleware if isinstance(m, QueuePause)]
    await wait_for(lambda: _true("kinds-test" in pause.paused), what="the pause seen")
    job_id = await submit(kjobs, k.nap, k.Nap(key=key, value=3))
    await asyncio.sleep(1.0)
    assert str((await kjobs.get(job_id)).status) == "queued"
    # When it is resumed, Then the job runs
    assert await resume_queue(client, ns, "kinds-test", engine=engine, actor="carol")
    assert (await wait_status(kjobs, job_id, "succeeded")).result == {
        "value": 3,
        "attempt": 1,
        "steps": 1,
    }
    # the ops views list the kind's queue with Folio's, each priority
    stats = {s.queue: s for s in await queue_stats(client, ns, engine=engine)}
    assert {"kinds-test", "kinds-test.critical", "kinds-test.high", "kinds-test.low"} <= set(stats)
    assert {"documents", "ocr"} <= set(stats)
    assert stats["kinds-test"].logical == "kinds-test"
    assert stats["kinds-test"].finished.get("succeeded", 0) >= 1
    sampled = await snapshot.take(client, engine, ns)  # what the queue gauges show
    assert "kinds-test.high" in {s.queue for s in sampled.queues}
    # a queue no kind declared is still refused
    with pytest.raises(InvalidInput, match="unknown queue 'nope'"):
        await pause_queue(client, ns, "nope", engine=engine)


async def _true(value: bool) -> bool:
    return value


async def _kind_recorded(engine: AsyncEngine, name: str) -> bool:
    async with engine.connect() as conn:
        return bool(await conn.scalar(sa.select(JobKind.name).where(JobKind.name == name)))


async def test_the_worker_records_the_kinds_it_serves(
    kjobs: Jobs, engine: AsyncEngine, kind_worker: dramatiq.Broker
) -> None:
    async def recorded() -> list[Any]:
        async with engine.connect() as conn:
            return list((await conn.execute(sa.select(JobKind).order_by(JobKind.name))).all())

    rows = await wait_for(recorded, what="job_kinds rows")
    by_name = {r.name: r for r in rows}
    assert set(by_name) == {k.name for k in KINDS}
    nap = by_name["test.nap"]
    assert nap.version == 1
    assert nap.queue == "kinds-test"
    assert nap.options == {"min_backoff_ms": 50, "max_backoff_ms": 200, "priority": "normal"}
    assert nap.description == "Sleeps in steps, reporting progress at each."
    schema = nap.payload_schema["$defs"]["Nap"]
    assert schema["required"] == ["key"]
    assert "type" not in schema["properties"]
    assert by_name["test.add"].result_schema["$defs"]["Sum"]["required"] == ["total", "thread"]

    me = worker_id(kind_worker)

    async def seen() -> list[Any]:
        # this worker's rows: another test's killed worker may have left its own
        async with engine.connect() as conn:
            return list(
                (
                    await conn.execute(
                        sa.select(JobKindWorker.seen_at).where(JobKindWorker.worker == me)
                    )
                ).scalars()
            )

    first = await wait_for(seen, what="job_kind_workers rows")
    assert len(first) == len(KINDS)
    # the heartbeat moves seen_at on
    await wait_for(lambda: _later(seen, max(first)), what="a heartbeat")


async def _later(seen: Any, before: Any) -> bool:
    return max(await seen()) > before


@pytest.fixture
def cli_worker(settings: FolioSettings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``folio worker start --jobs support.kinds --queues kinds-test``, as an operator runs it."""
    env = worker_env(settings, python_path=[TESTS_DIR])
    log = (tmp_path / "kinds-worker.log").open("ab")
    folio = Path(sys.executable).with_name("folio")
    argv = [str(folio), "worker", "start", "--jobs", "support.kinds", "--queues", "kinds-test"]
    proc = subprocess.Popen(
        [*argv, "--threads", "16"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    log.close()
    drop_namespace(settings.redis.url, settings.broker.namespace)


async def test_folio_worker_start_serves_the_kinds_of_a_module(
    cli_worker: subprocess.Popen[bytes], engine: AsyncEngine, settings: FolioSettings, key: str
) -> None:
    client = aioredis.Redis.from_url(settings.redis.url)
    broker = create_broker(settings)
    jobs = Jobs(engine, broker, client)
    try:
        env = k.nap.envelope(k.Nap(key=key))
        env["payload"]["type"] = "test.nap.v2"
        bad = await submit_envelope(jobs, env)
        good = await submit(jobs, k.nap, k.Nap(key=key, value=5, steps=2))
        total = await submit(jobs, k.add, k.Add(key=key, a=1, b=2))
        dead = await wait_status(jobs, bad, "dead", timeout_s=60)
        assert "v2 is not known to this worker (it knows v1)" in (dead.error_message or "")
        assert (await wait_status(jobs, good, "succeeded", timeout_s=60)).result == {
            "value": 5,
            "attempt": 1,
            "steps": 2,
        }
        assert (await wait_status(jobs, total, "succeeded")).result == {
            "total": 3,
            "thread": "worker",
        }
        assert cli_worker.poll() is None

        async def served() -> set[str]:
            async with engine.connect() as conn:
                return set((await conn.execute(sa.select(JobKindWorker.kind))).scalars())

        assert await wait_for(served, what="served kinds") == {kind.name for kind in KINDS}
    finally:
        broker.close()
        await client.aclose()
