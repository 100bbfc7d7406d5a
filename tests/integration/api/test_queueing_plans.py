"""The plans of the API's hot statement (:mod:`folio_api.domain.documents.fast.queueing`)
on its own connections: generic plans (made once per connection) only once
``jobs`` has statistics to make them from, and then plans that look
documents and the active job up by their own indexes. Real PostgreSQL, a
fresh database (tests in order: young, then grown)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from apikit import make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.domain.documents.fast import queueing
from folio_shared.db.engine import asyncpg_dsn
from folio_shared.jobs import rows

pytestmark = pytest.mark.integration


@pytest.fixture
async def connect(database_url: str) -> AsyncIterator[object]:
    """Open connections set up as the API's pool sets up its own."""
    opened: list[asyncpg.Connection] = []

    async def open_one() -> asyncpg.Connection:
        connection = await asyncpg.connect(asyncpg_dsn(database_url))
        await queueing.init_connection(connection)
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        await connection.close()


async def plan_of(conn: asyncpg.Connection, statement: str, *values: str) -> str:
    """The plan the connection runs ``statement`` with (prepared by name, as
    the driver does; under ``force_generic_plan`` the generic one)."""
    params = len(set(re.findall(r"\$(\d+)", statement)))
    name = f"plan_{uuid.uuid4().hex}"
    await conn.execute(f"PREPARE {name} AS {statement}")
    args = ", ".join(list(values) + ["NULL"] * (params - len(values)))
    rows = await conn.fetch(f"EXPLAIN EXECUTE {name}({args})")
    await conn.execute(f"DEALLOCATE {name}")
    return "\n".join(row[0] for row in rows)


def active_job_lookup(plan: str) -> str:
    """The scan of the ``a`` CTE (the document's active job) in ``plan``."""
    lines = plan.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "CTE a")
    return "\n".join(lines[start + 1 : start + 4])


async def test_a_young_database_is_planned_per_execution(connect: object) -> None:
    # Given a fresh install: no jobs, no statistics of them
    conn = await connect()  # type: ignore[operator]
    # Then the API's connections let PostgreSQL plan each execution
    assert await conn.fetchval("SHOW plan_cache_mode") == "auto"
    assert await conn.fetchval("SHOW enable_seqscan") == "off"
    # (a generic plan made without statistics has been seen to find the
    # active job through an index of every top-level job, and to keep that
    # plan as the table grew)


async def test_a_grown_database_gets_generic_plans_that_use_the_right_indexes(
    connect: object, engine: AsyncEngine
) -> None:
    # Given jobs enough and their statistics, taken when every job was
    # finished, then a backlog of queued jobs since (the statistics under
    # which the planner once chose to read every active job through a
    # status index, for every request, in the middle of a backlog)
    tenant = await make_tenant(engine, "plans")
    seed = await connect()  # type: ignore[operator]
    insert = (
        "INSERT INTO jobs (id, tenant_id, actor_name, queue_name, priority, status, message)"
        " SELECT gen_random_uuid(), $1, 'docs.process', 'documents', 'normal', $3, '{}'"
        " FROM generate_series(1, $2)"
    )
    await seed.execute(insert, tenant.tenant_id, queueing.GENERIC_PLANS_FROM_JOBS * 5, "succeeded")
    await seed.execute("ANALYZE jobs")
    await seed.execute(insert, tenant.tenant_id, queueing.GENERIC_PLANS_FROM_JOBS * 2, "queued")
    # When the pool opens a connection
    conn = await connect()  # type: ignore[operator]
    # Then it uses generic plans, made from those statistics
    assert await conn.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
    plan = await plan_of(conn, queueing.QUEUE)
    assert "Seq Scan" not in plan, plan
    assert "pk_documents" in plan
    lookup = active_job_lookup(plan)
    assert "uq_jobs_active_top_level" in lookup, plan
    assert "ix_jobs_status" not in lookup


async def test_unsent_jobs_are_planned_for_their_ids(connect: object, engine: AsyncEngine) -> None:
    # Given many queued jobs, as in a backlog, and their statistics
    conn = await connect()  # type: ignore[operator]
    tenant = await make_tenant(engine, "unsent")
    await conn.execute(
        "INSERT INTO jobs (id, tenant_id, actor_name, queue_name, priority, status, message)"
        " SELECT gen_random_uuid(), $1, 'docs.process', 'documents', 'normal', 'queued', '{}'"
        " FROM generate_series(1, 5000)",
        tenant.tenant_id,
    )
    await conn.execute("ANALYZE jobs")
    # Then the rare path, planned for the ids given, looks them up by primary key
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        plan = await plan_of(conn, rows.UNSENT, "ARRAY[gen_random_uuid()]")
    assert "pk_jobs" in plan, plan
    # and it sets a job back to pending, leaving the session as it was
    mode = await conn.fetchval("SHOW plan_cache_mode")
    job_id = await conn.fetchval("SELECT id FROM jobs WHERE status = 'queued' LIMIT 1")
    await queueing.unsent(conn, [job_id])
    assert await conn.fetchval("SELECT status FROM jobs WHERE id = $1", job_id) == "pending"
    assert await conn.fetchval("SHOW plan_cache_mode") == mode
