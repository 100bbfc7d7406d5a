"""Re-embedding after an embedding model change, as the kernel sees it.

The work (``reembed_chunks``: a bounded round of new vectors, staged, and
the switch of every tenant whose new vectors are complete) needs the
embedding models, which only worker-docs loads: its maintenance actor
gives the runner that round (:attr:`~folio_shared.maintenance.runner.TaskContext.reembed`,
``folio_worker_docs.reembed``). Without it (``folio maintenance
reembed-chunks``), a dry run counts the documents holding stale chunks by
model name (:func:`count_stale_documents`) and a real run is refused:
worker-docs runs it on the scheduler's tick, or ``folio-worker-docs-reembed``
from a shell.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.models import Chunk, StagedEmbedding
from folio_shared.embedding_models import BY_LANGUAGE, DEFAULT_MODEL, LANGUAGE_MODELS

#: Chunks embedded per ``reembed_chunks`` round unless the message says.
REEMBED_MAX_CHUNKS = 500


def _expected_name(setting: str) -> Any:
    """SQL: the name of the model a chunk should be embedded by."""
    if setting != BY_LANGUAGE:
        return sa.literal(setting)
    return sa.case(dict(LANGUAGE_MODELS), value=Chunk.language, else_=DEFAULT_MODEL)


async def count_stale_documents(
    session: AsyncSession, setting: str, tenant_id: uuid.UUID | None = None
) -> int:
    """Documents (of ``tenant_id``, default all) holding a chunk whose
    model's name is not the one ``FOLIO_PIPELINE_EMBEDDING_MODEL`` =
    ``setting`` gives its language, with no vector by that model staged.
    (worker-docs also counts a chunk stale when the model's weights, its
    digest, changed.)"""
    expected = _expected_name(setting)
    name = sa.func.split_part(sa.func.coalesce(Chunk.model_version, ""), "@", 1)
    staged = sa.exists().where(
        StagedEmbedding.chunk_id == Chunk.id,
        sa.func.split_part(StagedEmbedding.model_version, "@", 1) == expected,
    )
    query = sa.select(sa.func.count(sa.distinct(Chunk.document_id))).where(
        name != expected, ~staged
    )
    if tenant_id is not None:
        query = query.where(Chunk.tenant_id == tenant_id)
    return int(await session.scalar(query) or 0)
