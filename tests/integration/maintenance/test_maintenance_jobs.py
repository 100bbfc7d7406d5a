"""Each maintenance run is a job: the scheduler's sender creates it, a real
worker process runs worker-docs' maintenance actor, and the job ends
``succeeded`` with the summary as its result. A run that fails is retried
and visible on its job, never dropped. ``reembed_chunks`` runs there too,
with the embedding models."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_devstack.workers import WorkerProcess
from folio_scheduler.sender import JobSender
from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Chunk, Document, Job, Tenant, VocabularyWord
from folio_shared.messages import ExpireUploadsV1, Queue, ReembedChunksV1, physical_queue_names
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def maintenance_worker(settings: FolioSettings, spawn: Any) -> WorkerProcess:
    """worker-docs' maintenance actors in a real worker process."""
    return spawn(
        settings,
        module="support.maintenance_worker",
        queues=physical_queue_names(Queue.MAINTENANCE),
        threads=2,
        FOLIO_JOBS_MIN_BACKOFF_MS="1000",
        FOLIO_JOBS_MAX_BACKOFF_MS="2000",
    )


async def _wait_job(
    engine: AsyncEngine, job_id: uuid.UUID, done: set[str], timeout_s: float = 60
) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        async with engine.connect() as conn:
            row = (await conn.execute(sa.select(Job).where(Job.id == job_id))).one()
        if str(row.status) in done:
            return row
        assert time.monotonic() < deadline, f"job still {row.status}"
        await asyncio.sleep(0.2)


async def test_a_maintenance_run_is_a_job_with_its_summary(
    maintenance_worker: WorkerProcess,
    settings: FolioSettings,
    broker: dramatiq.Broker,
    engine: AsyncEngine,
) -> None:
    # Given an upload abandoned two days ago and one just started
    async with engine.begin() as conn:
        tenant_id = await conn.scalar(
            sa.insert(Tenant).values(name=f"t-{uuid.uuid4().hex[:6]}").returning(Tenant.id)
        )
        for key, age in (("m/stale", timedelta(days=2)), ("m/fresh", timedelta(0))):
            await conn.execute(
                sa.insert(Document).values(
                    tenant_id=tenant_id,
                    filename="f.pdf",
                    storage_key=key,
                    status=DocumentStatus.AWAITING_UPLOAD.value,
                    created_at=datetime.now(UTC) - age,
                )
            )
    sender = JobSender(settings, broker)
    try:
        # When the scheduler sends a tick's run
        tick = datetime.now(UTC).replace(second=0, microsecond=0).isoformat()
        job_id = await asyncio.to_thread(sender.send, ExpireUploadsV1(tick=tick))
        # Then it is a job that succeeds, with the summary as its result
        job = await _wait_job(engine, job_id, {"succeeded", "failed", "dead"})
        assert str(job.status) == "succeeded"
        assert job.result == {
            "task": "expire_uploads",
            "dry_run": False,
            "matched": 1,
            "changed": 1,
            "objects_deleted": 0,
            "details": {},
        }
        async with engine.connect() as conn:
            keys = set((await conn.scalars(sa.select(Document.storage_key))).all())
        assert keys == {"m/fresh"}
        # and the worker did not call the returned summary a discarded value
        worker_log = Path(maintenance_worker.log.name).read_text()
        assert "returned a value" not in worker_log, worker_log

        # When a run fails (its table is unavailable), it is retried, visibly
        async with engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE documents RENAME TO documents_away"))
        try:
            failing = await asyncio.to_thread(sender.send, ExpireUploadsV1())
            deadline = time.monotonic() + 60
            while True:
                async with engine.connect() as conn:
                    row = (await conn.execute(sa.select(Job).where(Job.id == failing))).one()
                if row.attempts >= 1 and row.error_type:
                    break
                assert time.monotonic() < deadline, "the failed attempt was not recorded"
                await asyncio.sleep(0.1)
            assert str(row.status) in {"queued", "running"}
            assert "documents" in (row.error_message or "")
        finally:
            async with engine.begin() as conn:
                await conn.execute(sa.text("ALTER TABLE documents_away RENAME TO documents"))
        # Then the retry succeeds once the table is back
        job = await _wait_job(engine, failing, {"succeeded", "dead"})
        assert str(job.status) == "succeeded"
        assert job.attempts >= 2
        assert job.result is not None
        assert job.result["matched"] == 0
    finally:
        await asyncio.to_thread(sender.close)


async def test_reembed_chunks_runs_on_the_worker_that_has_the_models(
    maintenance_worker: WorkerProcess,
    settings: FolioSettings,
    broker: dramatiq.Broker,
    engine: AsyncEngine,
) -> None:
    # Given a tenant whose Portuguese document an earlier model embedded
    texts = ["O inquilino paga o aluguel", "até o quinto dia útil de cada mês."]
    async with engine.begin() as conn:
        tenant_id = await conn.scalar(
            sa.insert(Tenant).values(name=f"t-{uuid.uuid4().hex[:6]}").returning(Tenant.id)
        )
        document_id = await conn.scalar(
            sa.insert(Document)
            .values(
                tenant_id=tenant_id, filename="aluguel.txt", storage_key="m/aluguel",
                status=DocumentStatus.READY.value,
            )
            .returning(Document.id)
        )  # fmt: skip
        for i, text in enumerate(texts):
            await conn.execute(
                sa.insert(Chunk).values(
                    tenant_id=tenant_id, document_id=document_id, chunk_index=i, page_start=1,
                    page_end=1, char_start=0, char_end=len(text), text=text, token_count=8,
                    language="pt", model_version="all-MiniLM-L6-v2@earlier",
                    embedding=[1.0] + [0.0] * 383, pipeline_version="test",
                )
            )  # fmt: skip
    sender = JobSender(settings, broker)
    try:
        # When the scheduler's tick sends a round for it
        msg = ReembedChunksV1(tenant_id=str(tenant_id))
        job_id = await asyncio.to_thread(sender.send, msg)
        job = await _wait_job(engine, job_id, {"succeeded", "failed", "dead"}, timeout_s=180)
    finally:
        await asyncio.to_thread(sender.close)
    # Then worker-docs re-embedded the chunks by e5 and switched the tenant
    assert str(job.status) == "succeeded", job.error_message
    details = job.result["details"]
    assert {k: v for k, v in details.items() if not k.startswith("vocabulary_")} == {
        "documents": 1, "chunks": 2, "remaining_documents": 0, "switched_tenants": 1,
        "switched_chunks": 2,
    }  # fmt: skip
    # and then collected the document's words into the tenant's vocabulary, by e5
    assert (details["vocabulary_documents"], details["vocabulary_remaining_documents"]) == (1, 0)
    async with engine.connect() as conn:
        words = dict(
            (
                await conn.execute(
                    sa.select(VocabularyWord.word, VocabularyWord.model_version).where(
                        VocabularyWord.tenant_id == tenant_id
                    )
                )
            ).all()
        )
    assert details["vocabulary_words"] == len(words)
    assert {"inquilino", "aluguel"} <= set(words)
    assert {v.split("@")[0] for v in words.values()} == {"multilingual-e5-small"}
    async with engine.connect() as conn:
        versions = set(
            await conn.scalars(sa.select(Chunk.model_version).where(Chunk.tenant_id == tenant_id))
        )
    assert [v.split("@")[0] for v in versions] == ["multilingual-e5-small"]
