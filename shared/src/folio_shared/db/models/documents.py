"""Documents, the text of their pages, and their searchable chunks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from folio_shared.db.enums import DocumentKind, DocumentStatus, PageMethod
from folio_shared.db.models.base import (
    Base,
    check_in,
    created_at_column,
    enum_type,
    tenant_fk,
    updated_at_column,
    uuid_pk,
)

#: Dimension of the embedding vectors (the default model's output size).
EMBEDDING_DIMENSIONS = 384

#: Text search configuration of a chunk whose language is unknown:
#: ``simple`` (lower-casing, no stemming, no stop words).
TEXT_SEARCH_CONFIG = "simple"

#: A chunk's ``language`` -> the text search configuration that stems it
#: and drops its stop words. Any other language (or ``None``) uses
#: :data:`TEXT_SEARCH_CONFIG`.
CHUNK_LANGUAGES = {"en": "english", "pt": "portuguese"}

#: Accented letters folded to :data:`UNACCENTED` (same position) before
#: text search, in chunks and in queries. Core ``translate()``, not the
#: ``unaccent`` extension, which pgserver's PostgreSQL does not ship.
ACCENTED = "áàâãäåéèêëíìîïóòôõöúùûüçñýÿÁÀÂÃÄÅÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑÝ"
UNACCENTED = "aaaaaaeeeeiiiiooooouuuucnyyAAAAAAEEEEIIIIOOOOOUUUUCNY"


def text_search_config_sql(language: str) -> str:
    """SQL: the configuration for the SQL expression ``language``."""
    cases = " ".join(
        f"WHEN '{code}' THEN '{config}'::regconfig" for code, config in CHUNK_LANGUAGES.items()
    )
    return f"CASE {language} {cases} ELSE '{TEXT_SEARCH_CONFIG}'::regconfig END"


#: SQL of the generated ``chunks.tsv``: the text, accents folded, in its
#: language's configuration.
CHUNK_TSV_SQL = (
    f"to_tsvector({text_search_config_sql('language')}, "
    f"translate(text, '{ACCENTED}', '{UNACCENTED}'))"
)

#: ``documents.dedupe_sha256``: the bytes' hash while the document holds
#: them and is not deleted (what duplicates are looked up by).
DEDUPE_SHA256 = "CASE WHEN status IN ('awaiting_upload', 'deleted') THEN NULL ELSE sha256 END"
#: Room left on each page of ``documents`` for its rows' next versions.
DOCUMENTS_FILLFACTOR = 80


class Document(Base):
    """An uploaded file and what Folio made of it.

    ``filename`` is the client's name, sanitised, and metadata only; the file
    lives under the random ``storage_key``. ``kind`` (the real type, from the
    bytes), ``size_bytes`` and ``sha256`` are unknown (``None``) while
    ``awaiting_upload``. ``meta`` is the ``metadata`` column (client and
    extraction metadata). ``low_confidence_pages``: page numbers whose OCR
    confidence was low.

    Duplicates: one tenant holds a given ``sha256`` once, enforced by the
    unique index ``uq_documents_tenant_id_sha256`` on ``dedupe_sha256``:
    the ``sha256`` of a document whose status is neither ``awaiting_upload``
    (no bytes yet) nor ``deleted`` (so a deleted file can be uploaded
    again), else ``NULL``. A generated column rather than a predicate on
    ``status``, so that a status change touches no indexed column and is a
    HOT update (migration 0005; ``fillfactor`` leaves room for it).
    """

    __tablename__ = "documents"
    __table_args__ = (
        check_in("kind", [k.value for k in DocumentKind], "kind"),
        check_in("status", [s.value for s in DocumentStatus], "status"),
        sa.CheckConstraint("size_bytes >= 0", name="size_bytes_positive"),
        sa.Index(
            "uq_documents_tenant_id_sha256",
            "tenant_id",
            "dedupe_sha256",
            unique=True,
            postgresql_where=sa.text("dedupe_sha256 IS NOT NULL"),
        ),
        sa.Index("ix_documents_tenant_id_created_at", "tenant_id", "created_at"),
        {"postgresql_with": {"fillfactor": DOCUMENTS_FILLFACTOR}},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    filename: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[DocumentKind | None] = mapped_column(enum_type(DocumentKind))
    content_type: Mapped[str | None] = mapped_column(sa.Text)
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    dedupe_sha256: Mapped[str | None] = mapped_column(
        sa.String(64), sa.Computed(DEDUPE_SHA256, persisted=True)
    )
    storage_key: Mapped[str] = mapped_column(sa.Text, unique=True)
    status: Mapped[DocumentStatus] = mapped_column(
        enum_type(DocumentStatus), server_default=DocumentStatus.AWAITING_UPLOAD.value
    )
    page_count: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    meta: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, default=dict, server_default=sa.text("'{}'::jsonb")
    )
    low_confidence_pages: Mapped[list[int]] = mapped_column(
        ARRAY(sa.Integer), default=list, server_default=sa.text("'{}'::integer[]")
    )
    #: kept by the chunk store: its chunks and their tokens (keyword ranking)
    chunk_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    token_count: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Page(Base):
    """The text of one page of a document (``page_no`` counts from 1).

    ``method``: from the text layer or OCR; for OCR, ``ocr_confidence``
    (mean word confidence, 0-100), ``ocr_languages`` (Tesseract's, e.g.
    ``eng+por``), ``dpi`` and ``ocr_version`` (the OCR's version,
    :data:`folio_shared.pages.OCR_VERSION`; ``NULL`` for a page read before
    versions were recorded); for a text-layer page, ``text_version`` (the
    version of worker-docs' reading of text layers,
    ``folio_worker_docs.text.TEXT_VERSION``; ``NULL`` before it was
    recorded); ``duration_ms`` the time it took.
    """

    __tablename__ = "pages"
    __table_args__ = (
        check_in("method", [m.value for m in PageMethod], "method"),
        sa.UniqueConstraint("document_id", "page_no"),
        sa.CheckConstraint("page_no >= 1", name="page_no_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    document_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="CASCADE")
    )
    page_no: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text)
    method: Mapped[PageMethod] = mapped_column(enum_type(PageMethod))
    ocr_confidence: Mapped[float | None] = mapped_column(sa.Double)
    ocr_languages: Mapped[str | None] = mapped_column(sa.Text)
    dpi: Mapped[int | None]
    duration_ms: Mapped[int | None]
    pipeline_version: Mapped[str] = mapped_column(sa.Text)
    low_confidence: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    ocr_version: Mapped[str | None] = mapped_column(sa.Text)
    text_version: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()


class Chunk(Base):
    """A searchable piece of a document: its text, where it came from
    (pages, character offsets), its embedding and its full-text vector.

    ``embedding``: ``vector(384)`` (``None`` until embedded), searched by
    cosine distance through the HNSW index ``ix_chunks_embedding_hnsw``.
    Read back as ``list[float]`` (a numpy array when numpy is installed).
    ``language``: the document's language (``"en"``, ``"pt"``, ``None`` when
    unknown), detected when it is chunked. ``tsv``: generated by PostgreSQL
    from ``text`` (:data:`CHUNK_TSV_SQL`: accents folded, stemmed and stop
    words dropped in ``language``); never written. ``tenant_id``
    is copied from the document so search filters without a join.
    """

    __tablename__ = "chunks"
    __table_args__ = (
        sa.UniqueConstraint("document_id", "chunk_index"),
        sa.Index(
            "ix_chunks_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        sa.Index("ix_chunks_tsv", "tsv", postgresql_using="gin"),
        sa.Index("ix_chunks_tenant_id", "tenant_id"),
        # one entry per document: the vocabulary's collection walks it (0021)
        sa.Index("ix_chunks_first", "tenant_id", postgresql_where=sa.text("chunk_index = 0")),
        sa.Index(
            "ix_chunks_tenant_language_model",
            "tenant_id",
            sa.text("coalesce(language, '')"),
            sa.text("coalesce(model_version, '')"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    document_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="CASCADE")
    )
    chunk_index: Mapped[int]
    page_start: Mapped[int]
    page_end: Mapped[int]
    char_start: Mapped[int]
    char_end: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text)
    token_count: Mapped[int]
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSIONS), nullable=True)
    language: Mapped[str | None] = mapped_column(sa.Text)
    tsv: Mapped[Any] = mapped_column(
        TSVECTOR, sa.Computed(CHUNK_TSV_SQL, persisted=True), nullable=True
    )
    model_version: Mapped[str | None] = mapped_column(sa.Text)
    pipeline_version: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()


class StagedEmbedding(Base):
    """A chunk's vector by the model its language now uses, kept aside
    while its tenant's switch to that model is under way (search still
    ranks ``chunks.embedding``); moved into the chunk, with every other of
    the tenant's, once none is missing (``folio_worker_docs.reembed``).
    Deleted with its chunk."""

    __tablename__ = "staged_embeddings"
    __table_args__ = (sa.Index("ix_staged_embeddings_tenant_id", "tenant_id"),)

    chunk_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    model_version: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()


class DocumentCentroid(Base):
    """The mean of a document's chunk vectors by one model (``model``: the
    chunks' ``model_version`` up to its ``@``), which search compares with
    the query (``folio_api.domain.search.semantic``). Never written by
    Folio's code: triggers on ``chunks`` (migration 0018) recompute a
    document's centroids whenever a statement inserts, updates or deletes
    its chunks, in that statement's transaction. Deleted with its
    document."""

    __tablename__ = "document_centroids"

    document_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    centroid: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    chunk_count: Mapped[int]


class TenantKeywordTotals(Base):
    """A share of a tenant's keyword totals, which BM25 needs: its chunks
    (``chunks``), their tokens (``tokens``) and its documents that hold
    chunks (``documents``), over its documents' ``chunk_count`` /
    ``token_count``. The totals are the sums over the tenant's rows: each
    write adds its delta to the row of its slot (the writing backend's
    process id modulo 16), so parallel writers of one tenant do not queue
    on one row. Never written by Folio's code: triggers on ``documents``
    (migration 0024) add a row's change in its statement's transaction.
    Deleted with its tenant."""

    __tablename__ = "tenant_keyword_totals"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    chunks: Mapped[int] = mapped_column(sa.BigInteger)
    tokens: Mapped[int] = mapped_column(sa.BigInteger)
    documents: Mapped[int] = mapped_column(sa.BigInteger)
