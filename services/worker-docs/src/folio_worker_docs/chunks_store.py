"""Writing a document's chunks and their vectors: replace, never append.

:func:`replace_document_chunks` deletes the document's chunks and inserts
the new set in the caller's transaction, so the document is searchable
with either its old chunks or its new ones, never a mix, and writing the
same chunks twice (a redelivered message) leaves exactly one set. The
document row is locked first (``FOR UPDATE``): two workers replacing the
same document's chunks run one after the other instead of colliding on
``(document_id, chunk_index)``.

Rows go in as one multi-row ``INSERT`` per batch of
:data:`INSERT_BATCH_ROWS` (SQLAlchemy's "insertmanyvalues" over asyncpg).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.models import EMBEDDING_DIMENSIONS, Chunk, Document
from folio_shared.errors import DocumentNotFound, InvalidInput
from folio_worker_docs.text.chunking import TextChunk

#: Rows per multi-row INSERT statement.
INSERT_BATCH_ROWS = 500


async def replace_document_chunks(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    chunks: Sequence[TextChunk],
    vectors: Sequence[Sequence[float]] | Any,
    model_version: str,
    pipeline_version: str,
    language: str | None = None,
    row_written: bool = False,
) -> int:
    """Replace the chunks of ``document_id`` with ``chunks`` and their
    ``vectors`` (one row per chunk, :data:`EMBEDDING_DIMENSIONS` long; a
    numpy array works), in the document's ``language`` (``"en"``, ``"pt"``,
    ``None`` when unknown: it picks the keyword index's stemming). Returns
    the number of chunks written.

    Runs in the caller's transaction and does not commit: the caller
    commits together with the job's state. Raises
    :class:`~folio_shared.errors.DocumentNotFound` when the document does
    not exist in ``tenant_id`` and
    :class:`~folio_shared.errors.InvalidInput` when chunks and vectors do
    not match.

    ``row_written``: the caller has already updated the document row in
    this transaction (which locks it) with the totals of :func:`chunk_totals`,
    so the row is neither locked nor written here (the pipeline's last step
    writes the document's final state and its totals in one statement).
    """
    if len(vectors) != len(chunks):
        raise InvalidInput(
            f"{len(chunks)} chunks but {len(vectors)} vectors",
            document_id=str(document_id),
        )
    if not row_written:
        found = await session.scalar(
            sa.select(Document.id)
            .where(Document.id == document_id, Document.tenant_id == tenant_id)
            .with_for_update()
        )
        if found is None:
            raise DocumentNotFound(
                f"document {document_id} not found",
                document_id=str(document_id),
                tenant_id=str(tenant_id),
            )
    await session.execute(sa.delete(Chunk).where(Chunk.document_id == document_id))
    rows = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        if len(vector) != EMBEDDING_DIMENSIONS:
            raise InvalidInput(
                f"vector of chunk {chunk.index} has {len(vector)} dimensions, "
                f"not {EMBEDDING_DIMENSIONS}",
                document_id=str(document_id),
            )
        rows.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "document_id": document_id,
                "chunk_index": chunk.index,
                "page_start": chunk.page_start,
                "page_end": chunk.page_end,
                "char_start": chunk.char_start,
                "char_end": chunk.char_end,
                "text": chunk.text.replace("\x00", ""),
                "token_count": chunk.token_count,
                "embedding": vector,
                "model_version": model_version,
                "pipeline_version": pipeline_version,
                "language": language,
            }
        )
    table: Any = Chunk.__table__
    for offset in range(0, len(rows), INSERT_BATCH_ROWS):
        await session.execute(sa.insert(table), rows[offset : offset + INSERT_BATCH_ROWS])
    if not row_written:
        await _set_totals(session, tenant_id, document_id, *chunk_totals(chunks))
    return len(rows)


def chunk_totals(chunks: Sequence[TextChunk]) -> tuple[int, int]:
    """The chunk and token counts a document with ``chunks`` records."""
    return len(chunks), sum(c.token_count for c in chunks)


async def _set_totals(
    session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID, chunks: int, tokens: int
) -> None:
    """The document's chunk and token counts (read by keyword ranking)."""
    await session.execute(
        sa.update(Document)
        .where(Document.id == document_id, Document.tenant_id == tenant_id)
        .values(chunk_count=chunks, token_count=tokens)
    )


async def delete_document_chunks(
    session: AsyncSession, *, tenant_id: uuid.UUID, document_id: uuid.UUID
) -> int:
    """Delete the chunks of a document (in the caller's transaction);
    returns how many were deleted."""
    result = await session.execute(
        sa.delete(Chunk).where(Chunk.document_id == document_id, Chunk.tenant_id == tenant_id)
    )
    count: int = getattr(result, "rowcount", 0)
    await _set_totals(session, tenant_id, document_id, 0, 0)
    return count


async def reusable_vectors(
    session: AsyncSession, *, document_id: uuid.UUID, model_version: str
) -> dict[str, Any]:
    """The vectors of the document's current chunks made by ``model_version``,
    by chunk text: a reprocessed document whose text did not change (same
    pipeline version) re-embeds nothing; one whose model changed re-embeds
    everything."""
    rows = await session.execute(
        sa.select(Chunk.text, Chunk.embedding).where(
            Chunk.document_id == document_id, Chunk.model_version == model_version
        )
    )
    return {text: vector for text, vector in rows if vector is not None}
