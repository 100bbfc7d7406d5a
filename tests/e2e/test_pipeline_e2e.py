"""From stored bytes to searchable text, through the real workers.

worker-docs and worker-ocr run as real supervised processes (their own
entry modules, Folio's full middleware stack, the real embedding model and
Tesseract) against the test Redis and PostgreSQL, with local storage. Each
document is uploaded through the real API (``POST /v1/documents``, served by
uvicorn on a loopback port), then followed in PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from documents import docx, pdf, scanned_page
from e2ekit import (
    Api,
    e2e_settings,
    finished,
    job_done,
    new_tenant,
    pages_of,
    requeue,
    root_job,
    start_worker,
    submit,
)

from folio_api.domain.search.queries import embed_query
from folio_api.domain.search.repository import search
from folio_shared.db.enums import DocumentKind
from folio_shared.db.models import Chunk, Document, Job
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCANNED = [
    "Este comprovante confirma o pagamento da fatura",
    "referente ao mes de marco conforme a acao judicial",
]


@pytest.fixture(scope="module")
def settings(database_url: str, test_servers: Any, tmp_path_factory: Any) -> FolioSettings:
    # Six pages make a document large for the workers, 256 KiB for the API's
    # queue choice: only the 4,000-page manual below is that big.
    return e2e_settings(
        database_url,
        test_servers.redis_url,
        tmp_path_factory.mktemp("e2e"),
        large_pages=6,
        large_bytes=256 * 1024,
    )


@pytest.fixture(scope="module")
def workers(settings: FolioSettings, tmp_path_factory: Any) -> Iterator[None]:
    logs = tmp_path_factory.mktemp("logs")
    # The manual of the overtaking test has 4,000 pages, over the default
    # limit of 2,000 pages per document.
    docs = start_worker(settings, "docs", logs, FOLIO_PIPELINE_MAX_DOCUMENT_PAGES="5000")
    started = [docs, start_worker(settings, "ocr", logs)]
    yield
    for worker in started:
        worker.terminate(timeout_s=30)
        worker.close()


async def test_every_kind_goes_from_bytes_to_searchable_text(api: Any) -> None:
    engine, tenant_id = api.engine, api.tenant_id
    # Given one document of each kind, a mixed PDF (text, scan, text) among them
    mixed = await submit(
        api,
        DocumentKind.PDF,
        "application/pdf",
        pdf(
            [
                "Quarterly revenue grew in the northern region.",
                scanned_page(SCANNED),
                "Closing remarks about volcanoes and lava flows.",
            ]
        ),
    )
    text_pdf = await submit(
        api,
        DocumentKind.PDF,
        "application/pdf",
        pdf(["The lighthouse keeper logged every passing ship.", "Storms battered the coast."]),
    )
    markdown = await submit(
        api,
        DocumentKind.MARKDOWN,
        "text/markdown",
        b"# Sourdough\n\nFeed the starter with flour and water every day.\n",
    )
    html = await submit(
        api,
        DocumentKind.HTML,
        "text/html",
        b"<html><head><style>p{color:red}</style><script>var secret=1;</script></head>"
        b"<body><h1>Beekeeping</h1><p>Hives need a queen and worker bees.</p></body></html>",
    )
    word = await submit(
        api,
        DocumentKind.DOCX,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        docx(
            ["Orbital mechanics explains how satellites stay aloft."],
            [["planet", "moons"], ["Jupiter", "95"]],
        ),
    )
    corrupt = await submit(api, DocumentKind.PDF, "application/pdf", b"%PDF-1.7\n garbage \x00\x01")

    # Then each becomes ready with the right text per page
    for document_id in (mixed, text_pdf, markdown, html, word):
        assert await finished(engine, document_id) == "ready", document_id
    pages = await pages_of(engine, mixed)
    assert [(n, m) for n, m, _ in pages] == [(1, "text"), (2, "ocr"), (3, "text")]
    assert "revenue" in pages[0][2]
    assert "comprovante" in pages[1][2].lower()
    assert "pagamento" in pages[1][2].lower()
    assert "volcanoes" in pages[2][2]
    assert [(n, m) for n, m, _ in await pages_of(engine, text_pdf)] == [(1, "text"), (2, "text")]
    html_text = (await pages_of(engine, html))[0][2]
    assert "Hives need a queen" in html_text
    assert "secret" not in html_text
    assert "color" not in html_text
    word_text = (await pages_of(engine, word))[0][2]
    assert "Orbital mechanics" in word_text
    assert "Jupiter" in word_text

    # and the corrupt one fails with a readable reason, without stopping the rest
    assert await finished(engine, corrupt) == "failed"
    async with engine.connect() as conn:
        job = await root_job(conn, corrupt)
        error = await conn.scalar(sa.select(Document.error).where(Document.id == corrupt))
    assert job.status == "failed"
    assert error
    assert "pdf" in error.lower() or "corrupt" in error.lower()

    # Every ready document has embedded chunks, and the job finished once
    async with engine.connect() as conn:
        for document_id in (mixed, text_pdf, markdown, html, word):
            count = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(Chunk)
                .where(Chunk.document_id == document_id, Chunk.embedding.is_not(None))
            )
            assert count
        statuses = (
            (
                await conn.execute(
                    sa.select(Job.status).where(Job.document_id == mixed, Job.parent_id.is_(None))
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["succeeded"]

    # And a query phrased differently finds the right document, through the queries actor
    jobs = api.jobs
    vector = await asyncio.to_thread(
        embed_query,
        jobs.broker,
        "how do I keep bread yeast culture alive",
        tenant_id=str(tenant_id),
        timeout_ms=60_000,
    )
    async with jobs.sessions() as session:
        hits = await search(
            session,
            tenant_id=tenant_id,
            query_vector=vector,
            query_text="how do I keep bread yeast culture alive",
            k=3,
            mode="semantic",
        )
    assert hits
    assert hits[0].document_id == markdown


async def test_a_scanned_pdf_is_ocred_page_by_page_in_order(api: Any) -> None:
    engine = api.engine
    pages = [
        scanned_page([f"Page {n} describes the harbour", "and its fishing boats"])
        for n in range(1, 5)
    ]
    document_id = await submit(api, DocumentKind.PDF, "application/pdf", pdf(list(pages)))
    assert await finished(engine, document_id) == "ready"
    stored = await pages_of(engine, document_id)
    assert [(n, m) for n, m, _ in stored] == [(n, "ocr") for n in range(1, 5)]
    for n, _, text in stored:
        assert f"Page {n}" in text


async def test_reprocessing_reuses_vectors_until_the_model_version_changes(api: Any) -> None:
    engine = api.engine
    text = "".join(
        f"## Section {i}\n\nParagraph {i} about glaciers, tides and the slow drift of "
        f"continents, number {i}, with enough words to make its own chunk.\n\n"
        for i in range(40)
    )
    document_id = await submit(api, DocumentKind.MARKDOWN, "text/markdown", text.encode())
    assert await finished(engine, document_id) == "ready"

    async def chunks() -> list[tuple[int, str, list[float], str]]:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(Chunk.chunk_index, Chunk.text, Chunk.embedding, Chunk.model_version)
                .where(Chunk.document_id == document_id)
                .order_by(Chunk.chunk_index)
            )
            return [(i, t, list(e), m) for i, t, e, m in rows]

    first = await chunks()
    assert len(first) >= 2
    # Reprocessing with the same model: every vector reused, none computed
    job = await job_done(engine, await requeue(api, document_id))
    assert job.status == "succeeded", job.error_message
    assert job.result["embedded"] == 0
    assert job.result["reused_vectors"] == len(first)
    second = await chunks()
    assert [(i, t) for i, t, _, _ in second] == [(i, t) for i, t, _, _ in first]
    assert [e for _, _, e, _ in second] == [e for _, _, e, _ in first]
    # Chunks of another model version: everything is embedded again
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(Chunk)
            .where(Chunk.document_id == document_id)
            .values(model_version="older-model@000000000000")
        )
    job = await job_done(engine, await requeue(api, document_id))
    assert job.status == "succeeded", job.error_message
    assert job.result["embedded"] == len(first)
    assert job.result["reused_vectors"] == 0
    third = await chunks()
    assert {m for _, _, _, m in third} == {first[0][3]}
    # the same model on the same text gives the same vectors back
    for (_, _, a, _), (_, _, b, _) in zip(first, third, strict=True):
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-4


async def test_a_document_with_many_pages_fans_out_at_low_priority(api: Any) -> None:
    """Six pages (the test's threshold): its OCR pages go at low priority
    and its final step to the large-documents queue; it still ends ready."""
    engine = api.engine
    texts = [f"Page {n} of the long ledger about harbour tolls" for n in range(1, 7)]
    document_id = await submit(api, DocumentKind.PDF, "application/pdf", pdf(texts), force_ocr=True)
    assert await finished(engine, document_id) == "ready"
    async with engine.connect() as conn:
        parent = await root_job(conn, document_id)
        children = (
            await conn.execute(
                sa.select(Job.queue_name, Job.status).where(Job.parent_id == parent.id)
            )
        ).all()
    assert parent.queue_name == "documents"  # the request's own queue
    assert parent.on_complete["queue"] == "documents-large"  # one rank above its pages
    assert len(children) == 6
    assert {(q, str(s)) for q, s in children} == {("ocr.low", "succeeded")}
    # and a short document stays on the normal queues
    short = await submit(api, DocumentKind.PDF, "application/pdf", pdf(texts[:2]), force_ocr=True)
    assert await finished(engine, short) == "ready"
    async with engine.connect() as conn:
        parent = await root_job(conn, short)
        queues = (
            (await conn.execute(sa.select(Job.queue_name).where(Job.parent_id == parent.id)))
            .scalars()
            .all()
        )
    assert parent.on_complete["queue"] == "documents.high"
    assert set(queues) == {"ocr"}


async def test_small_documents_overtake_a_large_one(api: Any) -> None:
    """The 4,000-page manual goes to the large-documents queue (its size)
    and holds one of the worker's two threads; twenty receipts uploaded
    after it are ready before it, and the first ones before the last one
    has started: a receipt's final step does not wait behind the first
    steps of every receipt sent after it (it did: 19-26 s each, load 25).
    At 500 and 1,500 pages the manual raced the receipts (bfloat16, AMX)."""
    engine = api.engine
    paragraph = (
        "This page of the annual maintenance manual describes pumps, valves, seals and "
        "the inspection schedule of the northern pumping station in some detail. "
    ) * 3
    pages = [f"{n}. {paragraph}" for n in range(1, 4001)]
    big = await submit(api, DocumentKind.PDF, "application/pdf", pdf(pages))
    small = [
        await submit(
            api, DocumentKind.TEXT, "text/plain", f"Receipt number {n} for one coffee.".encode()
        )
        for n in range(20)
    ]
    for document_id in small:
        assert await finished(engine, document_id) == "ready"
    async with engine.connect() as conn:
        big_queue = await conn.scalar(
            sa.select(Job.queue_name).where(Job.document_id == big, Job.parent_id.is_(None))
        )
        assert big_queue == "documents-large"
        big_status = await conn.scalar(sa.select(Document.status).where(Document.id == big))
        cols = (Job.document_id, Job.created_at, Job.started_at, Job.finished_at)
        jobs = sa.select(*cols).where(Job.document_id.in_(small), Job.parent_id.is_(None))
        times = {row.document_id: row for row in await conn.execute(jobs)}
    assert big_status in {"queued", "processing"}, "the large document finished first"
    last_started = times[small[-1]].started_at
    early = [times[d].finished_at for d in small[:5]]
    waits = [round((times[d].finished_at - times[d].created_at).total_seconds(), 1) for d in small]
    assert all(t < last_started for t in early), f"held back; upload->ready s: {waits}"
    assert await finished(engine, big, timeout_s=600) == "ready"


async def test_search_over_http_finds_documents_of_the_callers_tenant_only(api: Api) -> None:
    keys = {}
    tenants = {}
    for name in ("north", "south"):
        tenants[name], keys[name] = await new_tenant(api.jobs, name)
    north_doc = await submit(
        api.as_tenant(tenants["north"], keys["north"]),
        DocumentKind.MARKDOWN,
        "text/markdown",
        b"# Glaciers\n\nIce sheets advance and retreat over thousands of years.\n",
    )
    south_doc = await submit(
        api.as_tenant(tenants["south"], keys["south"]),
        DocumentKind.MARKDOWN,
        "text/markdown",
        b"# Glaciers too\n\nRivers of ice carve valleys as they slowly move.\n",
    )
    assert await finished(api.engine, north_doc) == "ready"
    assert await finished(api.engine, south_doc) == "ready"

    client = api.client
    for mode in ("hybrid", "semantic", "keyword"):
        answer = await client.get(
            "/v1/search",
            params={
                "q": "frozen rivers shaping land" if mode != "keyword" else "glaciers",
                "k": 5,
                "mode": mode,
            },
            headers={"Authorization": f"Bearer {keys['north']}"},
        )
        assert answer.status_code == 200, answer.text
        hits = answer.json()["results"]
        assert hits, mode
        assert {h["document_id"] for h in hits} == {str(north_doc)}, mode
        assert hits[0]["page_start"] == 1
    unauthenticated = await client.get("/v1/search", params={"q": "ice"})
    assert unauthenticated.status_code == 401
    bad = await client.get(
        "/v1/search",
        params={"q": "ice", "mode": "psychic"},
        headers={"Authorization": f"Bearer {keys['north']}"},
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
