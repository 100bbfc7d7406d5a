"""A tenant's vocabulary: the words of its documents, each embedded alone
by the model of the documents that hold it (migration 0021). Keyword
search adds to a query the tenant's words nearest the query's vector
(``folio_api.domain.search.vocabulary``); worker-docs fills it off the
document's path (``folio_worker_docs.vocabulary``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.orm import Mapped, mapped_column

from folio_shared.db.models.base import Base, created_at_column, tenant_fk
from folio_shared.db.models.documents import EMBEDDING_DIMENSIONS


class VocabularyWord(Base):
    """One word of a tenant's documents (lower case, as
    :func:`folio_shared.vocabulary.words_of` finds it) and its vector by
    ``model_version``, the model of the documents' chunks, embedded as a
    query is. Deleted with its tenant."""

    __tablename__ = "vocabulary_words"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    model_version: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    word: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    created_at: Mapped[datetime] = created_at_column()


class VocabularySource(Base):
    """A document whose words are in its tenant's vocabulary for
    ``model_version``, keyed by its first chunk (deleted with it, so a
    document whose chunks are replaced is collected again). ``words``: how
    many distinct words it held."""

    __tablename__ = "vocabulary_sources"
    __table_args__ = (sa.Index("ix_vocabulary_sources_tenant_id", "tenant_id"),)

    chunk_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    model_version: Mapped[str] = mapped_column(sa.Text)
    words: Mapped[int]
    created_at: Mapped[datetime] = created_at_column()
