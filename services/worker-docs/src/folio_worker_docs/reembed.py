"""Re-embedding after a model change: the chunks whose ``model_version`` is
not the current model's get new vectors, document by document. Under
``by-language`` (:mod:`folio_shared.embedding_models`) the current model is
the one of the chunk's language (:class:`Models`).

Each document is one transaction: its chunks' rows are locked, embedded
again from their stored text and updated in place (text, offsets and
keyword index unchanged), so a search sees a document's chunks all from
the old model or all from the new one, never a mix, and keeps answering
meanwhile. A run stops after ``max_documents`` documents (or none left);
run it again to go on: a document done is never done twice, an
interrupted run loses only the document it was on.

``folio-worker-docs-reembed`` runs it from the command line with the
deployment's settings.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_shared.db.models import Chunk
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import Models
from folio_worker_docs.text.chunking import model_text

#: Documents whose chunks are looked up per round.
DOCUMENTS_PER_ROUND = 50


def _expected(models: Models) -> Any:
    """SQL: the ``model_version`` a chunk row should have."""
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
    """What a run did: ``documents`` and ``chunks`` re-embedded,
    ``remaining`` documents still on another model (counted at the end),
    ``seconds`` taken."""

    model_version: str
    documents: int = 0
    chunks: int = 0
    remaining: int = 0
    seconds: float = 0.0


def _stale(tenant_id: uuid.UUID | None, models: Models) -> Any:
    condition = Chunk.model_version.is_distinct_from(_expected(models))
    if tenant_id is not None:
        condition = sa.and_(condition, Chunk.tenant_id == tenant_id)
    return condition


async def stale_documents(
    session: AsyncSession, *, model_version: str | Models, tenant_id: uuid.UUID | None = None
) -> int:
    """How many documents (of ``tenant_id``, default all) hold chunks not
    embedded by ``model_version`` (or by their language's model)."""
    models = model_version if isinstance(model_version, Models) else None
    condition = (
        _stale(tenant_id, models)
        if models is not None
        else sa.and_(
            Chunk.model_version.is_distinct_from(model_version),
            sa.true() if tenant_id is None else Chunk.tenant_id == tenant_id,
        )
    )
    count = await session.scalar(
        sa.select(sa.func.count(sa.distinct(Chunk.document_id))).where(condition)
    )
    return int(count or 0)


async def reembed_document(
    session: AsyncSession, embedder: Embedder | Models, document_id: uuid.UUID
) -> int:
    """Re-embed the document's chunks not made by their model (in the
    caller's transaction); returns how many."""
    models = _models(embedder)
    rows = (
        await session.execute(
            sa.select(Chunk.id, Chunk.text, Chunk.language)
            .where(Chunk.document_id == document_id, _stale(None, models))
            .order_by(Chunk.chunk_index)
            .with_for_update()
        )
    ).all()
    if not rows:
        return 0
    table: Any = Chunk.__table__
    by_model: dict[str, list[Any]] = {}
    for row in rows:
        by_model.setdefault(models.of(row.language).model_version, []).append(row)
    for group in by_model.values():
        model = models.of(group[0].language)
        vectors = await asyncio.to_thread(model.encode, [model_text(r.text) for r in group])
        await session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("chunk_id"))
            .values(embedding=sa.bindparam("vector"), model_version=model.model_version),
            [{"chunk_id": r.id, "vector": v} for r, v in zip(group, vectors, strict=True)],
        )
    return len(rows)


async def reembed(
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder | Models,
    *,
    tenant_id: uuid.UUID | None = None,
    max_documents: int | None = None,
) -> ReembedSummary:
    """Re-embed stale documents (of ``tenant_id``, default every tenant's),
    one transaction each, at most ``max_documents`` (default all)."""
    started = time.monotonic()
    models = _models(embedder)
    summary = ReembedSummary(model_version=models.model_version)
    skipped: set[uuid.UUID] = set()
    while max_documents is None or summary.documents < max_documents:
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
            break
        for document_id in batch:
            if max_documents is not None and summary.documents >= max_documents:
                break
            async with sessions() as session, session.begin():
                done = await reembed_document(session, models, document_id)
            if done:
                summary.documents += 1
                summary.chunks += done
            else:  # replaced meanwhile by a newer processing
                skipped.add(document_id)
    async with sessions() as session:
        summary.remaining = await stale_documents(
            session, model_version=models, tenant_id=tenant_id
        )
    summary.seconds = round(time.monotonic() - started, 3)
    return summary
