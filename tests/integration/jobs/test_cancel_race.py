"""A cancel that waits for a parent's row while the parent hands over to
its children still ends the parent.

The parent's worker clears its lease when it hands over (it then waits for
its children, holding no lease). When that commit lands while the cancel
statement waits for the parent's row lock, the cancel must decide on the
row as it is once locked: running without a lease, so cancelled at once.
An earlier cancel decided on the row as it was before the wait, and asked
again after it (two UPDATEs on one snapshot): the parent was then neither
cancelled nor asked to cancel, and waited forever for the children the same
statement had cancelled. The family test hit it one run in five; this one
builds the interleaving itself.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from support.actors import EchoV1, new_id

from folio_shared.jobs import Jobs

pytestmark = pytest.mark.integration

#: A lock request not granted yet: the cancel waiting for the parent's row.
_WAITING_CANCELS = sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")


async def test_a_parent_ending_its_hand_over_while_the_cancel_waits_for_it_is_cancelled(
    engine: AsyncEngine, key: str, aside: tuple[Jobs, RedisBroker]
) -> None:
    # Given a running parent holding a lease and a queued child, in a
    # namespace no worker reads (nothing else touches the rows)
    jobs, _ = aside
    parent, child = new_id(), new_id()
    for job_id in (parent, child):
        await jobs.enqueue(EchoV1(job_id=str(job_id), key=key))
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE jobs SET status = 'running', attempts = 1, "
                "lease_expires_at = now() + interval '5 minutes' WHERE id = :id"
            ),
            {"id": parent},
        )
        await conn.execute(
            sa.text("UPDATE jobs SET parent_id = :parent WHERE id = :id"),
            {"parent": parent, "id": child},
        )

    # When the parent's hand-over (its lease cleared) is uncommitted
    # while the cancel runs, and commits once the cancel waits for the row
    async with engine.connect() as hand_over:
        await hand_over.execute(
            sa.text("UPDATE jobs SET lease_expires_at = NULL WHERE id = :id"), {"id": parent}
        )
        cancel = asyncio.create_task(jobs.cancel(parent))
        deadline = time.monotonic() + 10
        async with engine.connect() as watch:
            while not await watch.scalar(_WAITING_CANCELS):
                assert time.monotonic() < deadline, "the cancel never waited for the row"
                assert not cancel.done(), "the cancel did not wait for the parent's row"
                await asyncio.sleep(0.02)
        await hand_over.commit()
    await asyncio.wait_for(cancel, 10)

    # Then the parent and its child are both cancelled
    async with engine.connect() as conn:
        rows = dict(
            (
                await conn.execute(
                    sa.text("SELECT id, status FROM jobs WHERE id IN (:p, :c)"),
                    {"p": parent, "c": child},
                )
            ).all()
        )
    assert rows == {parent: "cancelled", child: "cancelled"}, rows
