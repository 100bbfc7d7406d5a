"""Re-embedding after a model change: the chunks whose ``model_version`` is
not the current model's get new vectors, and each tenant switches to them
all at once. Under ``by-language`` (:mod:`folio_shared.embedding_models`)
the current model is the one of the chunk's language (:class:`Models`).

A chunk is *stale* when its ``model_version`` is not its current model's
and no vector by that model is staged for it. Stale chunks are embedded
again from their stored text document by document, one transaction each
(the document's chunk rows locked, so two runs never embed a document
twice), and the new vectors are *staged* (``staged_embeddings``): the
chunks keep their old vectors, and search keeps ranking them. When a
tenant has no stale chunk left, :func:`switch_tenant` moves every staged
vector of the tenant into its chunk in one statement: a search sees the
tenant's chunks all on the old models or all on the new ones, never a
mix. Until then search embeds a query by the model the tenant's chunks
of that query's model still use (:func:`folio_api.domain.search.repository.prepare`).

A run first finds the tenants holding chunks on another model than their
language's (:func:`switching_tenants`: one index descent per (tenant,
language, model) held, so a run with nothing to do reads no chunk), stops
after ``max_documents`` documents or ``max_chunks`` chunks (or none left)
and then switches every tenant whose vectors are complete;
run it again to go on: a document staged is never embedded twice, an
interrupted run loses only the document it was on. The scheduler's
``reembed_chunks`` maintenance task runs bounded rounds on worker-docs
(:mod:`folio_worker_docs.actors.maintenance`); ``folio-worker-docs-reembed``
runs it from the command line with the deployment's settings.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_shared.db.models import Chunk, StagedEmbedding
from folio_shared.logging import get_logger
from folio_shared.maintenance.reembedding import REEMBED_MAX_CHUNKS
from folio_shared.maintenance.summary import Summary
from folio_shared.messages import ReembedChunksV1
from folio_shared.metrics import REEMBED_STALE_DOCUMENTS, REEMBEDDED_CHUNKS
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import Models
from folio_worker_docs.text.chunking import model_text

log = get_logger(__name__)

#: Documents whose chunks are looked up per round.
DOCUMENTS_PER_ROUND = 50


def _expected(models: Models | str) -> Any:
    """SQL: the ``model_version`` a chunk row should have."""
    if isinstance(models, str):
        return sa.literal(models)
    if not models.by_language:
        return sa.literal(models.default.model_version)
    return sa.case(
        {lang: e.model_version for lang, e in models.by_language.items()},
        value=Chunk.language,
        else_=models.default.model_version,
    )


def _models(embedder: Embedder | Models) -> Models:
    return embedder if isinstance(embedder, Models) else Models(embedder)


@dataclass(slots=True)
class ReembedSummary:
    """What a run did: ``documents`` and ``chunks`` embedded again (their
    vectors staged), ``remaining`` documents still holding stale chunks
    (counted at the end), ``switched_tenants`` and ``switched_chunks``:
    tenants whose staged vectors were complete and moved into their
    chunks, and how many chunks that changed; ``seconds`` taken."""

    model_version: str
    documents: int = 0
    chunks: int = 0
    remaining: int = 0
    switched_tenants: int = 0
    switched_chunks: int = 0
    seconds: float = 0.0


def _stale(tenant_id: uuid.UUID | None, models: Models | str) -> Any:
    """SQL: the chunk is on another model than its current one, and no
    vector by that one is staged for it."""
    expected = _expected(models)
    staged = sa.exists().where(
        StagedEmbedding.chunk_id == Chunk.id, StagedEmbedding.model_version == expected
    )
    condition = sa.and_(Chunk.model_version.is_distinct_from(expected), ~staged)
    if tenant_id is not None:
        condition = sa.and_(condition, Chunk.tenant_id == tenant_id)
    return condition


async def stale_documents(
    session: AsyncSession, *, model_version: str | Models, tenant_id: uuid.UUID | None = None
) -> int:
    """How many documents (of ``tenant_id``, default all) hold stale chunks:
    not embedded by ``model_version`` (or by their language's model), and
    none staged."""
    count = await session.scalar(
        sa.select(sa.func.count(sa.distinct(Chunk.document_id))).where(
            _stale(tenant_id, model_version)
        )
    )
    return int(count or 0)


async def reembed_document(
    session: AsyncSession, embedder: Embedder | Models, document_id: uuid.UUID
) -> int:
    """Embed the document's stale chunks again and stage their vectors (in
    the caller's transaction); returns how many."""
    models = _models(embedder)
    # lock the document's chunks first, then look (a statement of its own,
    # so it sees what a run that held the lock before staged)
    await session.execute(
        sa.select(Chunk.id).where(Chunk.document_id == document_id).with_for_update()
    )
    rows = (
        await session.execute(
            sa.select(Chunk.id, Chunk.tenant_id, Chunk.text, Chunk.language)
            .where(Chunk.document_id == document_id, _stale(None, models))
            .order_by(Chunk.chunk_index)
        )
    ).all()
    if not rows:
        return 0
    by_model: dict[str, list[Any]] = {}
    for row in rows:
        by_model.setdefault(models.of(row.language).model_version, []).append(row)
    for group in by_model.values():
        model = models.of(group[0].language)
        vectors = await asyncio.to_thread(model.encode, [model_text(r.text) for r in group])
        staged = insert(StagedEmbedding).values(
            [
                {
                    "chunk_id": r.id,
                    "tenant_id": r.tenant_id,
                    "embedding": v,
                    "model_version": model.model_version,
                }
                for r, v in zip(group, vectors, strict=True)
            ]
        )
        await session.execute(
            staged.on_conflict_do_update(
                index_elements=[StagedEmbedding.chunk_id],
                set_={
                    "embedding": staged.excluded.embedding,
                    "model_version": staged.excluded.model_version,
                },
            )
        )
    return len(rows)


#: SQL: move the tenant's staged vectors (those of the model its chunk's
#: language now uses) into their chunks and drop them, in one statement.
_MOVE = """
WITH moved AS (
    UPDATE chunks c SET embedding = s.embedding, model_version = s.model_version
    FROM staged_embeddings s
    WHERE s.chunk_id = c.id AND s.tenant_id = :tenant_id AND c.tenant_id = :tenant_id
      AND s.model_version = ({expected})
    RETURNING c.id
)
DELETE FROM staged_embeddings WHERE chunk_id IN (SELECT id FROM moved)
"""


def _expected_sql(models: Models) -> tuple[str, dict[str, str]]:
    """:func:`_expected` as SQL text over ``c.language``, with its values."""
    params = {"default_version": models.default.model_version}
    cases = []
    for i, (lang, e) in enumerate(models.by_language.items()):
        cases.append(f"WHEN :lang_{i} THEN :version_{i}")
        params |= {f"lang_{i}": lang, f"version_{i}": e.model_version}
    if not cases:
        return ":default_version", params
    return f"CASE c.language {' '.join(cases)} ELSE :default_version END", params


async def switch_tenant(
    session: AsyncSession, embedder: Embedder | Models, tenant_id: uuid.UUID
) -> int:
    """When ``tenant_id`` holds no stale chunk, move its staged vectors into
    its chunks (in the caller's transaction); returns how many chunks
    changed (0 when some are still stale). Serialised per tenant."""
    models = _models(embedder)
    await session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended('folio:reembed:' || :t, 0))"),
        {"t": str(tenant_id)},
    )
    if await session.scalar(sa.select(sa.exists().where(_stale(tenant_id, models)))):
        return 0
    expected, params = _expected_sql(models)
    result = await session.execute(
        sa.text(_MOVE.format(expected=expected)), {"tenant_id": tenant_id, **params}
    )
    return int(getattr(result, "rowcount", 0) or 0)


#: SQL: every (tenant, language, model version) the chunks hold, ``''``
#: for none, one descent of ``ix_chunks_tenant_language_model`` per triple
#: (a skip scan): what a round with nothing to do reads.
_HELD = """
WITH RECURSIVE held(tenant_id, lang, version) AS ((
    SELECT tenant_id, coalesce(language, ''), coalesce(model_version, '') FROM chunks
    ORDER BY 1, 2, 3 LIMIT 1
) UNION ALL
    SELECT n.* FROM held h, LATERAL (
        SELECT c.tenant_id, coalesce(c.language, ''), coalesce(c.model_version, '')
        FROM chunks c
        WHERE (c.tenant_id, coalesce(c.language, ''), coalesce(c.model_version, ''))
              > (h.tenant_id, h.lang, h.version)
        ORDER BY 1, 2, 3 LIMIT 1
    ) AS n
)
SELECT tenant_id, lang, version FROM held
"""


async def switching_tenants(session: AsyncSession, embedder: Embedder | Models) -> list[uuid.UUID]:
    """The tenants holding a chunk on another model than its language's
    (stale, or staged and not yet switched), without reading every chunk."""
    models = _models(embedder)
    rows = (await session.execute(sa.text(_HELD))).all()
    return list(
        dict.fromkeys(
            r.tenant_id for r in rows if r.version != models.of(r.lang or None).model_version
        )
    )


async def reembed(
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder | Models,
    *,
    tenant_id: uuid.UUID | None = None,
    max_documents: int | None = None,
    max_chunks: int | None = None,
) -> ReembedSummary:
    """Stage new vectors for stale documents (of ``tenant_id``, default
    every tenant's), one transaction each, until ``max_documents``
    documents or ``max_chunks`` chunks are done (default: all), then switch
    every tenant (that one) whose vectors are complete."""
    started = time.monotonic()
    models = _models(embedder)
    summary = ReembedSummary(model_version=models.model_version)

    def more() -> bool:
        return (max_documents is None or summary.documents < max_documents) and (
            max_chunks is None or summary.chunks < max_chunks
        )

    if tenant_id is not None:
        tenants = [tenant_id]
    else:
        async with sessions() as session:
            tenants = await switching_tenants(session, models)
    for tenant in tenants:
        if not more():
            break
        await _stage_tenant(sessions, models, tenant, summary, more)
    for tenant in tenants:
        async with sessions() as session, session.begin():
            moved = await switch_tenant(session, models, tenant)
        if moved:
            summary.switched_tenants += 1
            summary.switched_chunks += moved
    async with sessions() as session:
        for tenant in tenants:
            summary.remaining += await stale_documents(
                session, model_version=models, tenant_id=tenant
            )
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


async def _stage_tenant(
    sessions: async_sessionmaker[AsyncSession],
    models: Models,
    tenant_id: uuid.UUID,
    summary: ReembedSummary,
    more: Callable[[], bool],
) -> None:
    """Stage the tenant's stale documents while ``more()``, counting them in
    ``summary``."""
    skipped: set[uuid.UUID] = set()
    while more():
        async with sessions() as session:
            found = await session.scalars(
                sa.select(Chunk.document_id)
                .where(_stale(tenant_id, models))
                .where(Chunk.document_id.not_in(skipped) if skipped else sa.true())
                .group_by(Chunk.document_id)
                .limit(DOCUMENTS_PER_ROUND)
            )
            batch = list(found)
        if not batch:
            return
        for document_id in batch:
            if not more():
                return
            async with sessions() as session, session.begin():
                done = await reembed_document(session, models, document_id)
            if done:
                summary.documents += 1
                summary.chunks += done
            else:  # replaced meanwhile by a newer processing, or staged by another run
                skipped.add(document_id)


async def maintenance_round(
    msg: ReembedChunksV1, sessions: async_sessionmaker[AsyncSession], models: Models
) -> Summary:
    """The ``reembed_chunks`` maintenance task: one round of :func:`reembed`
    bounded to ``msg.max_chunks`` chunks (default :data:`REEMBED_MAX_CHUNKS`);
    with ``dry_run``, the count of documents holding stale chunks. Counts
    the chunks in ``folio_maintenance_reembedded_chunks_total`` and the
    documents left in ``folio_maintenance_reembed_stale_documents``."""
    tenant_id = uuid.UUID(msg.tenant_id) if msg.tenant_id else None
    if msg.dry_run:
        async with sessions() as session:
            stale = await stale_documents(session, model_version=models, tenant_id=tenant_id)
        return Summary(task="reembed_chunks", dry_run=True, matched=stale, changed=0)
    done = await reembed(
        sessions, models, tenant_id=tenant_id, max_chunks=msg.max_chunks or REEMBED_MAX_CHUNKS
    )
    REEMBEDDED_CHUNKS.inc(done.chunks)
    REEMBED_STALE_DOCUMENTS.set(done.remaining)
    if done.documents or done.switched_tenants:
        log.info(
            "chunks re-embedded",
            documents=done.documents,
            chunks=done.chunks,
            remaining_documents=done.remaining,
            switched_tenants=done.switched_tenants,
            switched_chunks=done.switched_chunks,
            seconds=done.seconds,
        )
    return Summary(
        task="reembed_chunks",
        dry_run=False,
        matched=done.documents + done.remaining,
        changed=done.chunks + done.switched_chunks,
        details={
            "documents": done.documents,
            "chunks": done.chunks,
            "remaining_documents": done.remaining,
            "switched_tenants": done.switched_tenants,
            "switched_chunks": done.switched_chunks,
        },
    )
