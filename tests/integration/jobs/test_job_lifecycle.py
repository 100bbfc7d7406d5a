"""The job lifecycle on real Redis and PostgreSQL, through Folio's middleware.

Every state of the design is reached and recorded; retries, permanent
failures, dead letters, cancellation, manual retry and re-drive behave as
the design says (families of jobs: ``test_job_families.py``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import BrokenV1, EchoV1, PlainV1, SlowV1, TimedV1, new_id
from support.jobs import (
    at_least,
    counter,
    queued_document,
    state_history,
    wait_for,
    wait_status,
)
from support.workers import RunningWorker

from folio_shared.broker import create_broker
from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import Job, JobEvent
from folio_shared.errors import JobStateConflict
from folio_shared.jobs import Jobs, outbox, store
from folio_shared.messages import Priority, Queue
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


async def test_a_job_goes_from_pending_to_succeeded(
    jobs: Jobs, engine: AsyncEngine, key: str
) -> None:
    job_id = new_id()
    job = await jobs.enqueue(EchoV1(job_id=str(job_id), key=key, value=7))
    assert job.id == job_id
    done = await wait_status(jobs, job_id, "succeeded")
    assert done.result == {"value": 7, "attempt": 1}
    assert done.attempts == 1
    assert done.progress == 100
    assert done.queued_at is not None
    assert done.started_at is not None
    assert done.finished_at is not None
    assert done.worker
    assert await state_history(engine, job_id) == ["pending", "queued", "running", "succeeded"]
    # the live stream carries the same story, ending with the terminal event
    events = await jobs.events(job_id)
    assert events[-1].terminal
    assert any(e.type == "progress" and e.data.get("stage") == "echoing" for e in events)


async def test_a_plain_def_actor_runs_on_the_worker_thread_through_the_same_lifecycle(
    jobs: Jobs, engine: AsyncEngine, key: str
) -> None:
    # Given a job actor declared with a plain ``def``
    ok, retried, broken = new_id(), new_id(), new_id()
    # When it succeeds, fails once with a transient error, or fails for good
    await jobs.enqueue(PlainV1(job_id=str(ok), key=key, value=3))
    await jobs.enqueue(PlainV1(job_id=str(retried), key=key, fail_times=1))
    await jobs.enqueue(PlainV1(job_id=str(broken), key=key, broken=True))
    # Then it ran on a worker thread, not the event loop, and each job's
    # outcome, history and live feed are those of an async actor's
    done = await wait_status(jobs, ok, "succeeded")
    assert done.result == {"value": 3, "attempt": 1, "thread": "worker"}
    assert await state_history(engine, ok) == ["pending", "queued", "running", "succeeded"]
    assert (await jobs.events(ok))[-1].terminal
    again = await wait_status(jobs, retried, "succeeded")
    assert again.attempts == 2
    assert await state_history(engine, retried) == [
        "pending", "queued", "running", "queued", "running", "succeeded",
    ]  # fmt: skip
    failed = await wait_status(jobs, broken, "failed", "dead")
    assert str(failed.status) == "failed"
    assert failed.attempts == 1
    assert failed.error_type == "UnsupportedFileType"


async def test_a_transient_failure_is_retried_with_backoff(
    jobs: Jobs, engine: AsyncEngine, key: str, settings: FolioSettings
) -> None:
    job_id = new_id()
    await jobs.enqueue(EchoV1(job_id=str(job_id), key=key, fail_times=2))
    done = await wait_status(jobs, job_id, "succeeded")
    assert done.attempts == 3
    assert await counter(settings, key, f"echo:{job_id}") == 3
    assert await state_history(engine, job_id) == [
        "pending",
        "queued",
        "running",
        "queued",
        "running",
        "queued",
        "running",
        "succeeded",
    ]


async def test_a_permanent_error_fails_at_once_with_a_readable_reason(
    jobs: Jobs, key: str, settings: FolioSettings, worker: RunningWorker
) -> None:
    job_id = new_id()
    await jobs.enqueue(BrokenV1(job_id=str(job_id), key=key))
    failed = await wait_status(jobs, job_id, "failed")
    assert failed.attempts == 1
    assert failed.error_type == "UnsupportedFileType"
    assert failed.error_message == "this file type cannot be processed"
    assert failed.cause == "error"
    await asyncio.sleep(0.5)
    assert await counter(settings, key, "broken") == 1, "a permanent failure is never retried"


async def test_a_timed_out_attempt_is_recorded_as_a_timeout(
    jobs: Jobs, engine: AsyncEngine, key: str, settings: FolioSettings
) -> None:
    # Given an actor limited to 300 ms per attempt and one retry
    job_id = new_id()
    await jobs.enqueue(TimedV1(job_id=str(job_id), key=key))
    dead = await wait_status(jobs, job_id, "dead")
    # Then both attempts were cut at the limit, and the cause says so
    assert dead.attempts == 2
    assert dead.cause == "timeout"
    assert dead.error_type == "TimeLimitExceeded"
    assert await counter(settings, key, "timed") == 2
    assert await state_history(engine, job_id) == [
        "pending",
        "queued",
        "running",
        "queued",
        "running",
        "dead",
    ]


async def test_a_job_claimed_before_its_send_is_recorded_reads_pending_queued_running(
    engine: AsyncEngine, key: str
) -> None:
    """The sender records a send after it (send, then update): a fast
    worker can claim the job in between, still ``pending``. The claim
    records the send itself, and the sender's late update changes nothing."""
    job_id = new_id()
    async with create_session_factory(engine)() as session:
        await outbox.enqueue(session, EchoV1(job_id=str(job_id), key=key))
        await session.commit()
    async with engine.connect() as conn:
        claim = await store.claim(
            conn, job_id, worker="w-early", lease_ms=2_000, message_id="m-early"
        )
        await conn.commit()
        assert claim is not None
        assert claim.attempt == 1
        # the sender's update, arriving after the claim
        await conn.execute(outbox._MARK_SENT, {"id": job_id, "message_id": "m-late"})
        await conn.commit()
        job = (await conn.execute(sa.select(Job).where(Job.id == job_id))).one()
        events = (
            await conn.execute(
                sa.select(JobEvent.status, JobEvent.data)
                .where(JobEvent.job_id == job_id)
                .order_by(JobEvent.id)
            )
        ).all()
    assert job.status == "running"
    assert job.message_id == "m-early"
    assert job.sent_at is not None
    assert job.queued_at is not None
    assert [(e.status, e.data) for e in events] == [
        ("pending", {}),
        ("queued", {"message_id": "m-early"}),
        ("running", {"attempt": 1, "worker": "w-early"}),
    ]


async def dead_letters(settings: FolioSettings, queue: str) -> list[bytes]:
    client = aioredis.Redis.from_url(settings.redis.url)
    try:
        return list(await client.zrange(f"{settings.broker.namespace}:{queue}.XQ", 0, -1))
    finally:
        await client.aclose()


async def test_exhausted_retries_go_dead_then_retry_and_redrive_run_them_once(
    jobs: Jobs, key: str, settings: FolioSettings
) -> None:
    # Given two jobs that fail their first three runs, with two retries each
    first, second = new_id(), new_id()
    await jobs.enqueue(EchoV1(job_id=str(first), key=key, fail_times=3), max_retries=2)
    await jobs.enqueue(EchoV1(job_id=str(second), key=key, fail_times=3), max_retries=2)
    for job_id in (first, second):
        dead = await wait_status(jobs, job_id, "dead")
        assert dead.attempts == 3
        assert dead.error_type == "ConnectionError"
        assert dead.cause == "error"
    await wait_for(
        lambda: _count_at_least(dead_letters(settings, "documents"), 2), what="two dead letters"
    )

    # When the first is retried by hand
    await jobs.retry(first)
    assert (await wait_status(jobs, first, "succeeded")).attempts == 1
    # and the dead-letter queue is re-driven
    resent = await jobs.redrive("documents")

    # Then only the second ran again (the first's dead letter is dropped, not re-run)
    assert resent == 1
    assert (await wait_status(jobs, second, "succeeded")).attempts == 1
    await asyncio.sleep(0.5)
    assert await counter(settings, key, f"echo:{first}") == 4
    assert await counter(settings, key, f"echo:{second}") == 4
    assert await dead_letters(settings, "documents") == []
    with pytest.raises(JobStateConflict):
        await jobs.retry(first)


async def test_a_redrive_never_makes_a_second_active_job_of_a_document(
    jobs: Jobs, engine: AsyncEngine, key: str, settings: FolioSettings
) -> None:
    # Given a document whose dead job waits in the dead-letter queue
    tenant_id, doc_id = await queued_document(engine)
    other = new_id()
    dead = new_id()
    await jobs.enqueue(
        EchoV1(job_id=str(dead), key=key, fail_times=1),
        tenant_id=tenant_id,
        document_id=doc_id,
        max_retries=0,
    )
    await wait_status(jobs, dead, "dead")
    await wait_for(
        lambda: _count_at_least(dead_letters(settings, "documents"), 1), what="a dead letter"
    )
    # and another job of the document that is active now
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO jobs (id, tenant_id, document_id, actor_name, queue_name, status)"
                " VALUES (:j, :t, :d, 'echo', 'documents', 'running')"
            ),
            {"j": other, "t": tenant_id, "d": doc_id},
        )
    # When the dead-letter queue is re-driven
    resent = await jobs.redrive("documents")
    # Then that job stays dead and its dead letter stays for later
    assert resent == 0
    assert str((await jobs.get(dead)).status) == "dead"
    assert len(await dead_letters(settings, "documents")) == 1
    # and once the other job is done, the re-drive runs it
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE jobs SET status = 'succeeded' WHERE id = :j"), {"j": other}
        )
    assert await jobs.redrive("documents") == 1
    assert (await wait_status(jobs, dead, "succeeded")).attempts == 1


async def _count_at_least(coro: object, n: int) -> bool:
    return len(await coro) >= n  # type: ignore[misc]


async def test_cancel_a_queued_job_and_it_never_runs(
    jobs: Jobs, engine: AsyncEngine, key: str, settings: FolioSettings, worker: RunningWorker
) -> None:
    # Given a job whose message waits in the delay queue (long enough for the
    # cancel below to come first on a loaded machine)
    job_id = new_id()
    eta = datetime.now(UTC) + timedelta(seconds=5)
    async with jobs.sessions() as session:
        await outbox.enqueue(session, EchoV1(job_id=str(job_id), key=key), eta=eta)
        await session.commit()
    await jobs.dispatch([job_id])
    assert str((await jobs.get(job_id)).status) == "queued"
    # When it is cancelled before it runs
    cancelled = await jobs.cancel(job_id)
    assert str(cancelled.status) == "cancelled"
    # Then its message, once due, is skipped
    await asyncio.sleep((eta - datetime.now(UTC)).total_seconds() + 2)
    assert await counter(settings, key, f"echo:{job_id}") == 0
    assert str((await jobs.get(job_id)).status) == "cancelled"
    assert await state_history(engine, job_id) == ["pending", "queued", "cancelled"]


async def test_cancel_a_running_job_stops_it_at_its_next_progress_call(
    jobs: Jobs, key: str, settings: FolioSettings
) -> None:
    job_id = new_id()
    await jobs.enqueue(SlowV1(job_id=str(job_id), key=key, steps=400, step_ms=25))
    await wait_for(
        lambda: at_least(counter(settings, key, "slow:steps"), 5), what="the job to be running"
    )
    await jobs.cancel(job_id)
    done = await wait_status(jobs, job_id, "cancelled", timeout_s=10)
    assert done.cause == "cancelled"
    steps = await counter(settings, key, "slow:steps")
    await asyncio.sleep(0.5)
    assert await counter(settings, key, "slow:steps") == steps, "the actor stopped"
    assert steps < 400


async def test_a_critical_job_overtakes_a_normal_backlog(
    jobs: Jobs, engine: AsyncEngine, key: str, worker: RunningWorker
) -> None:
    # Given a backlog of normal jobs (sent straight to the broker, in bulk)
    backlog = [new_id() for _ in range(1500)]
    async with jobs.sessions() as session:
        for job_id in backlog:
            await outbox.enqueue(session, EchoV1(job_id=str(job_id), key=key, sleep_ms=5))
        await session.commit()
        ids = outbox.pending_ids(session)
    await jobs.dispatch(ids)
    # When a critical job is sent behind it
    critical = new_id()
    await jobs.enqueue(EchoV1(job_id=str(critical), key=key), priority=Priority.CRITICAL)
    done = await wait_status(jobs, critical, "succeeded", timeout_s=60)
    # Then it ran before most of the backlog
    started_before = 0
    for job_id in backlog:
        job = await jobs.get(job_id)
        if job.started_at is not None and job.started_at < done.started_at:
            started_before += 1
    assert done.queue_name == "documents.critical"
    assert started_before < 300, f"{started_before} normal jobs started before the critical one"


async def test_the_reconciler_leaves_a_waiting_message_alone(
    engine: AsyncEngine, key: str, settings: FolioSettings, worker: RunningWorker
) -> None:
    # Given a job whose message waits, unconsumed, longer than lost_after
    # (no worker here consumes the maintenance queue; the sender is a broker
    # of its own, as the API's is)
    api_broker = create_broker(settings)
    client = aioredis.Redis.from_url(settings.redis.url)
    api = Jobs(engine, api_broker, client)
    job_id = new_id()
    async with api.sessions() as session:
        await outbox.enqueue(session, EchoV1(job_id=str(job_id), key=key), queue=Queue.MAINTENANCE)
        await session.commit()
    await api.dispatch([job_id])
    sent = (await api.get(job_id)).message_id
    assert settings.jobs.lost_after_ms < 3_000
    # When the reconciler runs several times meanwhile
    await asyncio.sleep(4)
    # Then it did not send it again: its message is still in Redis
    waiting = await api.get(job_id)
    await client.aclose()
    api_broker.close()
    assert str(waiting.status) == "queued"
    assert waiting.message_id == sent
