"""Families of jobs on real Redis and PostgreSQL: a parent fans out to
children and its completion step runs once when the last one finishes,
however often children are redelivered; cancelling a parent cancels its
family, even while it hands over to its children.
"""

from __future__ import annotations

import asyncio

import pytest
from support.actors import ParentV1, new_id
from support.jobs import at_least, counter, wait_for, wait_status
from support.workers import RunningWorker

from folio_shared.jobs import Jobs, outbox
from folio_shared.jobs.family import child_job_id
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


async def test_fan_out_runs_its_completion_once_despite_redeliveries(
    jobs: Jobs, key: str, settings: FolioSettings, worker: RunningWorker
) -> None:
    parent_id = new_id()
    await jobs.enqueue(ParentV1(job_id=str(parent_id), key=key, children=20, child_sleep_ms=150))
    # redeliver three children while the family runs
    await wait_for(lambda: at_least(counter(settings, key, "child"), 1), what="children running")
    for index in (0, 7, 19):
        child = await jobs.get(child_job_id(parent_id, index))
        assert child.message is not None
        outbox.resend(worker.broker, child.id, child.message, continuation=False)
    parent = await wait_status(jobs, parent_id, "succeeded", timeout_s=60)
    # and three more after everything finished
    for index in (1, 2, 3):
        child = await jobs.get(child_job_id(parent_id, index))
        assert child.message is not None
        outbox.resend(worker.broker, child.id, child.message, continuation=False)
    await asyncio.sleep(1.5)

    assert parent.children_total == 20
    assert parent.children_done == 20
    assert await counter(settings, key, "complete") == 1
    assert await counter(settings, key, "parent") == 1
    for index in range(20):
        assert await counter(settings, key, f"child:{index}") == 1, f"child {index} ran twice"
    assert parent.result == {"completions": 1}


async def test_cancelling_a_parent_cancels_its_children(
    jobs: Jobs, key: str, settings: FolioSettings
) -> None:
    parent_id = new_id()
    await jobs.enqueue(ParentV1(job_id=str(parent_id), key=key, children=30, child_sleep_ms=1000))
    await wait_for(lambda: at_least(counter(settings, key, "child"), 1), what="children running")
    await jobs.cancel(parent_id)
    try:
        await wait_status(jobs, parent_id, "cancelled")
    except AssertionError as e:
        # where the family stands, for a failure seldom seen
        parent = await jobs.get(parent_id)
        kids = [str((await jobs.get(child_job_id(parent_id, i))).status) for i in range(30)]
        raise AssertionError(
            f"{e}; parent {parent.status} stage={parent.stage!r}"
            f" cancel_requested={parent.cancel_requested_at} children={kids}"
        ) from None
    await asyncio.sleep(2)
    statuses = [str((await jobs.get(child_job_id(parent_id, i))).status) for i in range(30)]
    assert statuses.count("cancelled") >= 20
    assert set(statuses) <= {"cancelled", "succeeded"}
    assert await counter(settings, key, "complete") == 0


async def test_a_parent_cancelled_while_it_hands_over_to_its_children_ends_cancelled(
    jobs: Jobs, key: str, settings: FolioSettings
) -> None:
    """The cancel arrives after the parent's last progress() but before it
    returns WAITING: it holds its lease, so the cancel is only requested;
    the hand-over must carry it out (the parent would otherwise wait for
    children that were cancelled, forever)."""
    parent_id = new_id()
    await jobs.enqueue(
        ParentV1(job_id=str(parent_id), key=key, children=3, child_sleep_ms=3000, hold_ms=10_000)
    )

    async def holding() -> bool:
        job = await jobs.get(parent_id)
        return job.status == "running" and job.stage == "waiting for children"

    await wait_for(holding, what="the parent to hold after its last progress()")
    cancelled = await jobs.cancel(parent_id)
    # Requested only (it holds its lease). cancel() reads the job back after
    # its commit, and the parent polls every 20 ms, so the read may already
    # see the hand-over's outcome: the parent itself says which path it took.
    assert cancelled.cancel_requested_at is not None
    assert cancelled.status in ("running", "cancelled")
    done = await wait_status(jobs, parent_id, "cancelled", timeout_s=20)
    assert await counter(settings, key, "cancel seen while holding") == 1
    assert done.cause == "cancelled"
    assert done.lease_expires_at is None
    await asyncio.sleep(1)
    assert await counter(settings, key, "complete") == 0
