"""Batched claims and outcomes (``store_batch``, ``bookkeeper``) on real
PostgreSQL: each row of a batch is fenced as a statement of its own would
be, and concurrent requests share statements."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import EchoV1, new_id

from folio_shared.db.engine import create_raw_pool, create_session_factory
from folio_shared.db.enums import FailureCause, JobStatus
from folio_shared.db.models import Job, JobEvent
from folio_shared.jobs import outbox, store_batch
from folio_shared.jobs.bookkeeper import Bookkeeper, GroupCommit
from folio_shared.jobs.store import Claim
from folio_shared.jobs.store_batch import ClaimRequest, OutcomeRequest
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(settings: FolioSettings) -> AsyncIterator[asyncpg.Pool]:
    """The job engine's kind of pool (role folio_app, scope system,
    generic plans)."""
    p = await create_raw_pool(settings, min_size=1, max_size=4, generic_plans=True)
    try:
        yield p
    finally:
        await p.close()


async def _jobs(engine: AsyncEngine, key: str, n: int) -> list[uuid.UUID]:
    ids = [new_id() for _ in range(n)]
    async with create_session_factory(engine)() as session:
        for job_id in ids:
            await outbox.enqueue(session, EchoV1(job_id=str(job_id), key=key))
        await session.commit()
    return ids


async def _rows(engine: AsyncEngine, ids: list[uuid.UUID]) -> dict[uuid.UUID, sa.Row[Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(Job).where(Job.id.in_(ids)))
        return {r.id: r for r in rows}


async def _events(engine: AsyncEngine, job_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(JobEvent.status, JobEvent.data)
            .where(JobEvent.job_id == job_id)
            .order_by(JobEvent.id)
        )
        return [(r.status, r.data) for r in rows]


async def test_a_batch_claims_only_the_claimable_jobs_each_for_one_attempt(
    engine: AsyncEngine, pool: asyncpg.Pool, key: str
) -> None:
    free, pending, held, cancelled, expired = await _jobs(engine, key, 5)
    now = datetime.now(UTC)
    running = {"status": "running", "attempts": 1}
    states: dict[uuid.UUID, dict[str, Any]] = {
        free: {"status": "queued"},
        held: running | {"worker": "other", "lease_expires_at": now + timedelta(minutes=1)},
        cancelled: {"status": "queued", "cancel_requested_at": now},
        expired: running | {"worker": "dead", "lease_expires_at": now - timedelta(seconds=5)},
    }
    async with engine.begin() as conn:
        for job_id, values in states.items():
            await conn.execute(sa.update(Job).where(Job.id == job_id).values(**values))
    ids = [free, pending, held, cancelled, expired]
    claims = await store_batch.claim_many(
        pool,
        [ClaimRequest(i, False, f"m-{n}") for n, i in enumerate(ids)],
        worker="w-batch",
        lease_ms=30_000,
    )
    won = {i: c for i, c in zip(ids, claims, strict=True) if c is not None}
    assert set(won) == {free, pending, expired}
    assert won[free].attempt == 1
    assert won[pending].attempt == 1
    assert won[expired].attempt == 2  # the dead worker's attempt stays used
    rows = await _rows(engine, ids)
    assert rows[held].worker == "other"
    assert rows[cancelled].status == "queued"
    assert all(rows[i].worker == "w-batch" and rows[i].status == "running" for i in won)
    assert rows[pending].message_id == "m-1"
    assert [s for s, _ in await _events(engine, pending)][-2:] == ["queued", "running"]
    # a second batch of the same messages claims nothing
    again = await store_batch.claim_many(
        pool, [ClaimRequest(i, False, None) for i in ids], worker="w-2", lease_ms=30_000
    )
    assert again == [None] * 5


async def test_a_batch_of_outcomes_is_fenced_on_each_attempt(
    engine: AsyncEngine, pool: asyncpg.Pool, key: str
) -> None:
    ok, retried, stale = await _jobs(engine, key, 3)
    claims = await store_batch.claim_many(
        pool,
        [ClaimRequest(i, False, None) for i in (ok, retried, stale)],
        worker="w",
        lease_ms=30_000,
    )
    assert [c.attempt if c else None for c in claims] == [1, 1, 1]
    recorded = await store_batch.record_many(
        pool,
        [
            OutcomeRequest(ok, 1, JobStatus.SUCCEEDED, result={"n": 1}),
            OutcomeRequest(
                retried,
                1,
                JobStatus.QUEUED,
                cause=FailureCause.ERROR,
                error=("E", "boom"),
                retry_in_ms=60_000,
            ),
            OutcomeRequest(stale, 2, JobStatus.SUCCEEDED),  # not the running attempt
        ],
    )
    assert recorded == [True, True, False]
    rows = await _rows(engine, [ok, retried, stale])
    assert (rows[ok].status, rows[ok].result, rows[ok].progress) == ("succeeded", {"n": 1}, 100)
    assert rows[ok].finished_at is not None
    assert rows[ok].lease_expires_at is None
    assert rows[retried].status == "queued"
    assert rows[retried].worker is None
    assert (rows[retried].cause, rows[retried].error_message) == ("error", "boom")
    assert rows[retried].eta > datetime.now(UTC) + timedelta(seconds=30)
    assert rows[stale].status == "running"
    assert (await _events(engine, ok))[-1] == ("succeeded", {"attempt": 1})
    status, data = (await _events(engine, retried))[-1]
    assert status == "queued"
    assert data == {
        "attempt": 1,
        "cause": "error",
        "error_type": "E",
        "error_message": "boom",
        "retry_in_s": 60.0,
    }


async def test_a_round_claims_and_records_together_in_one_statement(
    engine: AsyncEngine, pool: asyncpg.Pool, key: str
) -> None:
    """A thread's outcome and another thread's claim waiting together go
    as one statement, each row fenced as alone."""
    done, stale, fresh, held = await _jobs(engine, key, 4)
    claims = await store_batch.claim_many(
        pool, [ClaimRequest(i, False, None) for i in (done, stale)], worker="w", lease_ms=30_000
    )
    assert [c.attempt if c else None for c in claims] == [1, 1]
    lease = datetime.now(UTC) + timedelta(minutes=1)
    other = {"status": "running", "attempts": 1, "worker": "other", "lease_expires_at": lease}
    async with engine.begin() as conn:
        await conn.execute(sa.update(Job).where(Job.id == held).values(**other))
    results = await store_batch.run_round(
        pool,
        [
            ClaimRequest(fresh, False, "m-fresh"),
            OutcomeRequest(done, 1, JobStatus.SUCCEEDED, result={"n": 2}),
            ClaimRequest(held, False, None),  # a live worker holds it
            OutcomeRequest(stale, 2, JobStatus.SUCCEEDED),  # not the running attempt
        ],
        worker="w-round",
        lease_ms=30_000,
    )
    claimed, recorded, refused_claim, refused_outcome = results
    assert isinstance(claimed, Claim)
    assert (claimed.job_id, claimed.attempt) == (fresh, 1)
    assert (recorded, refused_claim, refused_outcome) == (True, None, False)
    rows = await _rows(engine, [done, stale, fresh, held])
    assert (rows[done].status, rows[done].result) == ("succeeded", {"n": 2})
    assert (rows[fresh].status, rows[fresh].worker) == ("running", "w-round")
    assert (rows[stale].status, rows[held].worker) == ("running", "other")
    # one statement: the claim and the outcome share its transaction's time
    assert rows[fresh].started_at == rows[done].finished_at
    assert (await _events(engine, done))[-1] == ("succeeded", {"attempt": 1})
    assert (await _events(engine, fresh))[-1] == ("running", {"attempt": 1, "worker": "w-round"})


async def test_concurrent_claims_share_statements_and_one_job_is_claimed_once(
    engine: AsyncEngine, pool: asyncpg.Pool, key: str
) -> None:
    ids = await _jobs(engine, key, 40)

    async def run(requests: Sequence[ClaimRequest]) -> list[Claim | None]:
        return await store_batch.claim_many(pool, requests, worker="w", lease_ms=30_000)

    group: GroupCommit[ClaimRequest, Claim | None] = GroupCommit(run, key=lambda r: r.job_id)
    # every job requested twice (a redelivered message): one claim wins
    requests = [ClaimRequest(i, False, None) for i in ids * 2]
    claims = await asyncio.gather(*(group.submit(r) for r in requests))
    won = [c for c in claims if c is not None]
    assert sorted(c.job_id for c in won) == sorted(ids)
    assert {c.attempt for c in won} == {1}
    assert group.requests == 80
    assert group.batches < 10  # 80 requests, not 80 statements


_PLANS = """
SELECT coalesce(sum(generic_plans), 0) AS generic, coalesce(sum(custom_plans), 0) AS custom
FROM pg_prepared_statements WHERE statement LIKE '%UPDATE jobs SET%'
"""


@pytest.mark.parametrize("generic", [True, False])
async def test_the_job_engine_plans_its_batch_statements_once(
    engine: AsyncEngine, settings: FolioSettings, key: str, generic: bool
) -> None:
    """On the job engine's pool a claim batch is planned once per connection;
    PostgreSQL's default plans it again on every run (a new plan for each
    batch was half of PostgreSQL's CPU per job)."""
    ids = await _jobs(engine, key, 8)
    p = await create_raw_pool(settings, min_size=1, max_size=1, generic_plans=generic)
    try:
        for job_id in ids:
            [claim] = await store_batch.claim_many(
                p, [ClaimRequest(job_id, False, None)], worker="w-plans", lease_ms=30_000
            )
            assert claim is not None
            assert claim.attempt == 1
        async with p.acquire() as conn:
            plans = await conn.fetchrow(_PLANS)
    finally:
        await p.close()
    if generic:
        assert plans["custom"] == 0
        assert plans["generic"] >= len(ids)
    else:
        assert plans["custom"] >= 5  # PostgreSQL's default: the first five at least


async def test_rounds_hold_one_connection_and_replace_it_when_the_server_ends_it(
    engine: AsyncEngine, pool: asyncpg.Pool, key: str
) -> None:
    first, second, third = await _jobs(engine, key, 3)
    book = Bookkeeper("worker-a", 30_000, pool=lambda: pool)

    # Given rounds run one after another
    assert await book.claim(ClaimRequest(first, False, "m1")) is not None
    assert await book.record(OutcomeRequest(first, 1, JobStatus.SUCCEEDED))

    # Then they keep one connection out of the pool between them, the same one
    assert pool.get_size() - pool.get_idle_size() == 1
    held = book._held
    assert held is not None
    assert await book.claim(ClaimRequest(second, False, "m2")) is not None
    assert book._held is held

    # When the server ends that connection
    async with engine.connect() as conn:
        await conn.execute(
            sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": held[1].get_server_pid()}
        )
    await asyncio.sleep(0.5)  # the loop sees the socket close

    # Then the next round takes another connection and runs
    assert await book.claim(ClaimRequest(third, False, "m3")) is not None
    assert book._held is not None
    assert book._held is not held

    # And closing gives it back: the pool can close
    await book.close()
    assert pool.get_idle_size() == pool.get_size()
    assert book._held is None
    assert await book.record(OutcomeRequest(third, 1, JobStatus.SUCCEEDED))
    assert pool.get_idle_size() == pool.get_size()
