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
from sqlalchemy.dialects.postgresql import ARRAY
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
    ``model_version``, keyed by its first chunk (``chunk_id``).
    ``word_list``: the distinct words it held, ``words`` how many. When the
    chunk goes (the document deleted, processed again or moved to another
    model), ``chunk_id`` becomes ``NULL``: the source is *gone*, and the
    maintenance round sweeps from the tenant's vocabulary for that model
    the words no remaining source holds, then deletes the gone rows
    (migration 0023, :func:`folio_worker_docs.vocabulary.sweep`)."""

    __tablename__ = "vocabulary_sources"
    __table_args__ = (
        sa.Index("ix_vocabulary_sources_tenant_id", "tenant_id"),
        sa.Index(
            "ix_vocabulary_sources_gone", "tenant_id", postgresql_where=sa.text("chunk_id IS NULL")
        ),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(always=True), primary_key=True)
    chunk_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("chunks.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    model_version: Mapped[str] = mapped_column(sa.Text)
    words: Mapped[int]
    word_list: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text), server_default=sa.text("'{}'"), default=list
    )
    created_at: Mapped[datetime] = created_at_column()
