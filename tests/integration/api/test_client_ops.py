"""The Python client's ``ops`` namespace against the real API over HTTP
(operator key): queues, workers, dead letters listed, inspected,
re-driven and purged, a queue paused and resumed, stalled jobs and the
audit log that records each change."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, live_api, make_operator, make_tenant
from sqlalchemy.ext.asyncio import AsyncEngine
from support.live_server import LiveServer
from test_api_ops import make_dead, make_job, status_of

from folio_client import AsyncFolio, Folio, Forbidden
from folio_shared.db.models import Job

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, test_servers: Any
) -> Iterator[LiveServer]:
    with live_api(
        tmp_path_factory.mktemp("ops"), database_url=database_url, redis_url=test_servers.redis_url
    ) as server:
        yield server


@pytest.fixture(scope="module")
async def oto(engine: AsyncEngine) -> TenantKey:
    return await make_tenant(engine, "oto")


async def test_the_ops_namespace_sees_and_steers_dead_jobs_and_queues(
    live: LiveServer, engine: AsyncEngine, oto: TenantKey
) -> None:
    operator = await make_operator(engine)
    tag = uuid.uuid4().hex[:8]
    doomed = await make_dead(engine, oto.tenant_id, f"Bug{tag}")
    gone = await make_dead(engine, oto.tenant_id, f"Gone{tag}")
    with Folio(live.base_url, operator) as folio:
        queues = folio.ops.queues(minutes=2)
        assert {"documents", "ocr"} <= {q.logical for q in queues}
        assert all(len(q.finished_per_minute) == 2 for q in queues)
        assert folio.ops.workers() == []  # no worker runs here
        [dead] = folio.ops.dead(error_type=f"Bug{tag}")
        assert (dead.id, dead.status, dead.actor) == (str(doomed), "dead", "docs.process")
        assert dead.tenant_id == str(oto.tenant_id)
        detail = folio.ops.dead_job(str(doomed))
        assert detail.job.id == str(doomed)
        assert detail.payload["force_ocr"] is False
        report = folio.ops.redrive([str(doomed)], options={"force_ocr": True})
        assert (report.redriven, report.skipped) == ([str(doomed)], {})
        assert folio.ops.purge(error_type=f"Gone{tag}").purged == [str(gone)]
        paused = folio.ops.pause("OCR")
        assert (paused.queue, paused.paused, paused.changed) == ("ocr", True, True)
        assert all(q.paused == (q.logical == "ocr") for q in folio.ops.queues())
        resumed = folio.ops.resume("ocr")
        assert (resumed.paused, resumed.changed) == (False, True)
        audit = folio.ops.audit(limit=20)
    assert await status_of(engine, doomed) in {"pending", "queued"}
    assert await status_of(engine, gone) is None
    targets = {(e.action, e.target) for e in audit}
    assert ("dead.redrive", f"job:{doomed}") in targets
    assert ("dead.purge", f"job:{gone}") in targets
    assert {a for a, _ in targets} >= {"queue.pause", "queue.resume"}
    mine = [e for e in audit if e.target in (f"job:{doomed}", f"job:{gone}")]
    assert all(e.actor.startswith("api_key:") for e in mine)
    assert [e.id for e in audit] == sorted((e.id for e in audit), reverse=True)


async def test_async_ops_lists_stalled_jobs_and_a_tenant_key_is_refused(
    live: LiveServer, engine: AsyncEngine, oto: TenantKey
) -> None:
    operator = await make_operator(engine)
    now = datetime.now(UTC)
    stuck = await make_job(
        engine,
        oto.tenant_id,
        status="running",
        worker="host-9:1",
        started_at=now - timedelta(hours=1),
        lease_expires_at=now + timedelta(minutes=5),
        updated_at=now - timedelta(minutes=30),
    )
    try:
        async with AsyncFolio(live.base_url, operator) as folio:
            stalled = await folio.ops.stalled(stall_after_ms=60_000)
            only_pauses = await folio.ops.audit(action="queue.")
        async with AsyncFolio(live.base_url, oto.key) as tenant:
            with pytest.raises(Forbidden):
                await tenant.ops.queues()
    finally:
        async with engine.begin() as conn:  # other modules count stalled jobs
            await conn.execute(sa.delete(Job).where(Job.id == stuck))
    [found] = [j for j in stalled if j.id == str(stuck)]
    assert found.worker == "host-9:1"
    assert found.idle_s >= 30 * 60 - 5
    assert all(e.action.startswith("queue.") for e in only_pauses)
