"""Helpers that create tenants and documents (with chunks) for the pipeline
tests, and fresh copies of the loaded embedding model."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Document, Tenant
from folio_worker_docs.chunks_store import replace_document_chunks
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages, model_text
from folio_worker_docs.text.types import ExtractedPage


def unswitched(embedder: Embedder) -> Embedder:
    """The same loaded model in a new Embedder, no faster runtime switched on
    yet (its torch float32 path)."""
    return dataclasses.replace(
        embedder,
        query_encoder=None,
        document_encoder=None,
        bf16_model=None,
        _int8_encoder=None,
        _onnx_tried=False,
    )


async def make_tenant(session: AsyncSession) -> uuid.UUID:
    tenant = Tenant(name=f"t-{uuid.uuid4().hex[:10]}")
    session.add(tenant)
    await session.flush()
    return tenant.id


async def make_document(
    session: AsyncSession, tenant_id: uuid.UUID, filename: str, kind: str = "text"
) -> uuid.UUID:
    document = Document(
        tenant_id=tenant_id,
        filename=filename,
        kind=kind,
        storage_key=f"{tenant_id}/{uuid.uuid4().hex}",
        sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        size_bytes=1,
        status=DocumentStatus.READY,
    )
    session.add(document)
    await session.flush()
    return document.id


async def add_document(
    session: AsyncSession,
    embedder: Embedder,
    tenant_id: uuid.UUID,
    filename: str,
    pages: list[str],
    kind: str = "text",
    options: ChunkingOptions | None = None,
    language: str | None = None,
) -> uuid.UUID:
    """A ready document of ``pages`` (one text each) in ``language``,
    chunked (48 tokens, 8 overlapping by default) and embedded by
    ``embedder``."""
    document_id = await make_document(session, tenant_id, filename, kind)
    chunks = chunk_pages(
        [ExtractedPage(i, t) for i, t in enumerate(pages, 1)],
        embedder.token_spans,
        options or ChunkingOptions(48, 8),
    )
    await replace_document_chunks(
        session,
        tenant_id=tenant_id,
        document_id=document_id,
        chunks=chunks,
        vectors=embedder.encode([model_text(c.text) for c in chunks]),
        model_version=embedder.model_version,
        pipeline_version="test",
        language=language,
    )
    return document_id
