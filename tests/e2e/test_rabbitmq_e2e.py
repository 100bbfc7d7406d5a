"""The core flows on RabbitMQ (127.0.0.1:5672), as on Redis: uploads become
searchable through the real workers, a SIGKILLed worker loses nothing, and
what RabbitMQ lacks in Folio is refused clearly.

Each module gets a virtual host of its own (``rabbitmqctl add_vhost``),
deleted at the end with every queue in it, so runs never share queues.
Redis stays what it is on RabbitMQ deployments too: events, results and
Folio's own state.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from documents import pdf, scanned_page
from e2ekit import Api, e2e_settings, finished, open_api, start_worker, submit
from support.jobs import wait_for

from folio_devstack.workers import WorkerProcess
from folio_shared.db.enums import DocumentKind
from folio_shared.db.models import Job, JobEvent
from folio_shared.errors import JobStateConflict
from folio_shared.settings import BrokerSettings, FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def rabbitmqctl(*args: str) -> None:
    """RabbitMQ's own admin command (the machine's server, as root)."""
    command = shutil.which("rabbitmqctl")
    if command is None:
        pytest.fail("rabbitmqctl is not installed (it comes with rabbitmq-server)", pytrace=False)
    subprocess.run([command, "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def amqp_url(test_servers: Any) -> Iterator[str]:
    """A virtual host of the module's own on the machine's RabbitMQ."""
    vhost = f"folio-e2e-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"{test_servers.amqp_url.rstrip('/')}/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="module")
def settings(
    database_url: str, test_servers: Any, tmp_path_factory: Any, amqp_url: str
) -> FolioSettings:
    base = e2e_settings(database_url, test_servers.redis_url, tmp_path_factory.mktemp("rmq"))
    broker = BrokerSettings(url=amqp_url, namespace=base.broker.namespace)
    return base.model_copy(update={"broker": broker})


@pytest.fixture(scope="module")
def logs(tmp_path_factory: Any) -> Path:
    path: Path = tmp_path_factory.mktemp("logs")
    return path


@pytest.fixture(scope="module")
def workers(settings: FolioSettings, logs: Path) -> Iterator[dict[str, WorkerProcess]]:
    env = {"FOLIO_BROKER_URL": settings.broker.url}
    started = {
        "docs": start_worker(settings, "docs", logs, **env),
        "ocr": start_worker(settings, "ocr", logs, **env),
    }
    yield started
    for worker in started.values():
        worker.terminate(timeout_s=30)
        worker.close()


@pytest.fixture(scope="module")
async def api(
    database_url: str, settings: FolioSettings, workers: dict[str, WorkerProcess]
) -> AsyncIterator[Api]:
    async for opened in open_api(database_url, settings):
        yield opened


async def test_an_upload_becomes_ready_and_searchable_on_rabbitmq(api: Api) -> None:
    # Given a PDF with a text page and a scanned page, uploaded through the API
    document_id = await submit(
        api,
        DocumentKind.PDF,
        "application/pdf",
        pdf(
            [
                "The lighthouse keeper logged every passing ship.",
                scanned_page(["Storms battered the coast"]),
            ]
        ),
    )
    # Then both workers, fed by RabbitMQ, make it ready
    assert await finished(api.engine, document_id) == "ready"
    # and a semantic search (its query embedded by worker-docs over RabbitMQ) finds it
    answer = await api.client.get(
        "/v1/search", headers=api.headers, params={"q": "lighthouse ships", "mode": "semantic"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["mode"] == "semantic"
    assert body.get("fallback") is None
    assert str(document_id) in {hit["document_id"] for hit in body["results"]}


async def test_a_sigkilled_worker_loses_nothing_on_rabbitmq(
    api: Api, workers: dict[str, WorkerProcess], settings: FolioSettings, logs: Path
) -> None:
    # Given documents queued while worker-docs is busy with them
    ids = [
        await submit(api, DocumentKind.PDF, "application/pdf", pdf([f"Page of run {i}."] * 3))
        for i in range(6)
    ]

    async def one_running() -> bool:
        async with api.engine.connect() as conn:
            n = await conn.scalar(
                sa.select(sa.func.count()).where(
                    Job.document_id.in_(ids), Job.status.in_(["running", "succeeded"])
                )
            )
        return bool(n)

    await wait_for(one_running, timeout_s=120, what="worker-docs to take a document")
    # When worker-docs is SIGKILLed, and started again
    workers["docs"].kill()
    workers["docs"] = start_worker(settings, "docs", logs, FOLIO_BROKER_URL=settings.broker.url)
    # Then every document becomes ready, each job ending once
    for document_id in ids:
        try:
            status = await finished(api.engine, document_id, timeout_s=150)
        except AssertionError as e:
            raise AssertionError(f"{e}; jobs: {await job_states(api, ids)}") from None
        assert status == "ready", document_id
    # (a text PDF's job records its outcome a moment after its document is
    # ready: the worker marks the document in the job's own run)
    ends: list[Any] = []

    async def every_job_ended() -> bool:
        async with api.engine.connect() as conn:
            ends[:] = (
                await conn.execute(
                    sa.select(JobEvent.job_id, sa.func.count())
                    .join(Job, Job.id == JobEvent.job_id)
                    .where(
                        Job.document_id.in_(ids),
                        Job.parent_id.is_(None),
                        JobEvent.status.in_(["succeeded", "failed", "dead", "cancelled"]),
                    )
                    .group_by(JobEvent.job_id)
                )
            ).all()
        return len(ends) == len(ids)

    try:
        await wait_for(every_job_ended, timeout_s=60, what="every job's outcome")
    except AssertionError as e:
        raise AssertionError(f"{e}; jobs: {await job_states(api, ids)}") from None
    assert {n for _, n in ends} == {1}


async def job_states(api: Api, ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    """Where each document's jobs stand, for a failure message."""
    async with api.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                Job.document_id, Job.status, Job.attempts, Job.stage, Job.cause, Job.worker
            ).where(Job.document_id.in_(ids))
        )
        return [tuple(row) for row in rows]


async def test_reprocessing_works_and_redrive_is_refused_on_rabbitmq(api: Api) -> None:
    # Given a document processed on RabbitMQ
    document_id = await submit(
        api, DocumentKind.MARKDOWN, "text/markdown", b"# Retry me\n\nText.\n"
    )
    assert await finished(api.engine, document_id) == "ready"
    async with api.engine.connect() as conn:
        job_id = await conn.scalar(
            sa.select(Job.id).where(Job.document_id == document_id, Job.parent_id.is_(None))
        )
    assert job_id is not None
    # When it is processed again, its new job sent through RabbitMQ succeeds
    again = await api.client.post(
        f"/v1/documents/{document_id}/process", headers=api.headers, json={}
    )
    assert again.status_code in (200, 202), again.text
    assert await finished(api.engine, document_id) == "ready"
    # and re-drive, which reads Redis's dead-letter queues, is refused by name
    with pytest.raises(JobStateConflict, match="Redis dead-letter"):
        await api.jobs.redrive("documents")
