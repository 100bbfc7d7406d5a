"""Filling each tenant's vocabulary, off the documents' path.

Keyword search adds to a query the words of the tenant's documents whose
vectors are nearest the query's (``folio_api.domain.search.vocabulary``,
``docs/adr/0007-search-ranking.md``). This module gives those words their
vectors: a document is *pending* when its first chunk has no
``vocabulary_sources`` row for the model its chunks are on (a document
never collected, processed again since — its chunks replaced, its row
gone with them — or switched to another model). For a batch of pending
documents, their words (:func:`folio_shared.vocabulary.words_of`, in the
document's language) that the tenant's vocabulary does not hold yet for
that model are embedded alone, as a query is
(:meth:`~folio_worker_docs.embeddings.model.Embedder.encode_queries`), in
batches, with no transaction open, then stored with the documents'
``vocabulary_sources`` rows in one short transaction, which checks again
that the words found held before still are (a sweep may have taken one
meanwhile: those documents stay pending). A word is stored once
per tenant and model (``ON CONFLICT DO NOTHING``), so a run repeated,
interrupted or run twice at once leaves the same vocabulary. Documents on
a model the deployment no longer embeds with wait for their re-embedding.

Each document's ``vocabulary_sources`` row keeps the words it held
(``word_list``); when its first chunk goes, the row stays as a gone one,
and the round's sweep removes the words no remaining document holds
(:mod:`folio_worker_docs.vocabulary_sweep`). Only a round that leaves no
document pending sweeps: a pending document's words may be in the
vocabulary already (collected before migration 0023 deleted its row, or
before it was processed again) without being in any word list yet.

A round starts no batch after ``max_words`` words embedded or
``max_documents`` documents (or none left; a batch's words are embedded
whole, so its last batch can take it past ``max_words``): the
scheduler's ``reembed_chunks`` maintenance task runs one round after its
re-embedding
(:mod:`folio_worker_docs.actors.maintenance`). A document is ``ready``
before its words are collected: nothing here is on its path.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_shared.db.models import Chunk, VocabularySource, VocabularyWord
from folio_shared.logging import get_logger
from folio_shared.vocabulary import words_of
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.select import Models
from folio_worker_docs.vocabulary_sweep import lock_tenants, sweep

log = get_logger(__name__)

#: Documents read per batch.
DOCUMENTS_PER_BATCH = 20
#: Words embedded per round unless the caller says.
VOCABULARY_MAX_WORDS = 5_000
#: Rows per INSERT statement.
_INSERT_ROWS = 500

_PENDING = """
SELECT c.id AS chunk_id, c.document_id, c.tenant_id, c.model_version, c.language
FROM chunks c
WHERE c.chunk_index = 0 AND c.model_version = ANY(:versions) {tenant}
  AND NOT EXISTS (
      SELECT 1 FROM vocabulary_sources s
      WHERE s.chunk_id = c.id AND s.model_version = c.model_version)
ORDER BY c.tenant_id, c.id
LIMIT :limit
"""


@dataclass(slots=True)
class VocabularySummary:
    """What a round did: ``documents`` collected, ``words`` embedded and
    added, ``remaining`` documents still pending (counted at the end),
    ``swept`` words no remaining document holds deleted
    (:mod:`folio_worker_docs.vocabulary_sweep`), ``seconds`` taken."""

    documents: int = 0
    words: int = 0
    remaining: int = 0
    swept: int = 0
    seconds: float = 0.0


def _embedders(models: Models) -> dict[str, Embedder]:
    """model version -> its embedder, for every model of the deployment."""
    found = [models.default, *models.by_language.values()]
    return {e.model_version: e for e in found}


async def pending(
    session: AsyncSession,
    models: Models,
    *,
    tenant_id: uuid.UUID | None = None,
    limit: int = DOCUMENTS_PER_BATCH,
) -> list[Any]:
    """Up to ``limit`` pending documents' first chunks (``chunk_id``,
    ``document_id``, ``tenant_id``, ``model_version``, ``language``)."""
    sql = _PENDING.format(tenant="AND c.tenant_id = :tenant_id" if tenant_id else "")
    stmt = sa.text(sql).bindparams(sa.bindparam("versions", type_=ARRAY(sa.Text)))
    params: dict[str, Any] = {"versions": list(_embedders(models)), "limit": limit}
    if tenant_id:
        params["tenant_id"] = tenant_id
    return list((await session.execute(stmt, params)).all())


async def count_pending(
    session: AsyncSession, models: Models, *, tenant_id: uuid.UUID | None = None
) -> int:
    """How many documents are pending (see the module docstring)."""
    # the text is this module's constants only: no input is formatted in
    sql = f"SELECT count(*) FROM ({_PENDING.replace('LIMIT :limit', '')}) AS p"  # noqa: S608
    sql = sql.format(tenant="AND c.tenant_id = :tenant_id" if tenant_id else "")
    stmt = sa.text(sql).bindparams(sa.bindparam("versions", type_=ARRAY(sa.Text)))
    params: dict[str, Any] = {"versions": list(_embedders(models))}
    if tenant_id:
        params["tenant_id"] = tenant_id
    return int(await session.scalar(stmt, params) or 0)


def _held_words(tenant: uuid.UUID, version: str, words: Iterable[str]) -> Any:
    """Those of ``words`` the tenant's vocabulary holds for ``version``."""
    return sa.select(VocabularyWord.word).where(
        VocabularyWord.tenant_id == tenant,
        VocabularyWord.model_version == version,
        # one array parameter: a batch may hold more words than a
        # statement may carry parameters (32,767 with asyncpg)
        VocabularyWord.word == sa.any_(sa.bindparam("words", sorted(words), type_=ARRAY(sa.Text))),
    )


async def _words_needed(
    session: AsyncSession, batch: Sequence[Any]
) -> tuple[dict[Any, set[str]], dict[tuple[uuid.UUID, str], list[str]]]:
    """(first chunk id -> its document's words, (tenant, model) -> the
    batch's words the tenant's vocabulary lacks for that model)."""
    by_document = {row.document_id: row for row in batch}
    texts = await session.execute(
        sa.select(Chunk.document_id, Chunk.text).where(Chunk.document_id.in_(list(by_document)))
    )
    words: dict[Any, set[str]] = {row.chunk_id: set() for row in batch}
    for document_id, text in texts:
        row = by_document[document_id]
        words[row.chunk_id].update(words_of(text, row.language))
    missing: dict[tuple[uuid.UUID, str], list[str]] = {}
    for (tenant, version), group in _wanted(batch, words).items():
        held = await session.scalars(_held_words(tenant, version, group))
        missing[(tenant, version)] = sorted(group - set(held))
    return words, missing


def _wanted(
    batch: Sequence[Any], words: dict[Any, set[str]]
) -> dict[tuple[uuid.UUID, str], set[str]]:
    """(tenant, model) -> the words the batch's documents hold."""
    wanted: dict[tuple[uuid.UUID, str], set[str]] = {}
    for row in batch:
        wanted.setdefault((row.tenant_id, row.model_version), set()).update(words[row.chunk_id])
    return wanted


async def collect_batch(
    sessions: async_sessionmaker[AsyncSession] | AsyncSession,
    models: Models,
    *,
    tenant_id: uuid.UUID | None = None,
    limit: int = DOCUMENTS_PER_BATCH,
) -> tuple[int, int]:
    """Collect the words of up to ``limit`` pending documents (of
    ``tenant_id``, default every tenant's); returns (documents, words
    added). With a session (tests), everything runs in its transaction."""
    embedders = _embedders(models)
    async with _session(sessions) as session:
        batch = await pending(session, models, tenant_id=tenant_id, limit=limit)
        if not batch:
            return 0, 0
        found, missing = await _words_needed(session, batch)
    vectors = {}
    for (tenant, version), words in missing.items():
        if words:
            embedder = embedders[version]
            vectors[(tenant, version)] = await asyncio.to_thread(embedder.encode_queries, words)
    async with _session(sessions) as session, _begin(session):
        await lock_tenants(session, [row.tenant_id for row in batch])
        added, lost = 0, set()
        for (tenant, version), group in _wanted(batch, found).items():
            words = missing.get((tenant, version), [])
            rows = [
                {"tenant_id": tenant, "model_version": version, "word": w, "embedding": v}
                for w, v in zip(words, vectors.get((tenant, version), []), strict=True)
            ]
            for start in range(0, len(rows), _INSERT_ROWS):
                stmt = insert(VocabularyWord).values(rows[start : start + _INSERT_ROWS])
                result = await session.execute(stmt.on_conflict_do_nothing())
                added += int(getattr(result, "rowcount", 0) or 0)
            # a word found held before the embedding and swept since: its
            # documents stay pending, and the next batch embeds it
            held = set(await session.scalars(_held_words(tenant, version, group)))
            lost |= {(tenant, version, w) for w in group - held}
        kept = [
            row
            for row in batch
            if not any((row.tenant_id, row.model_version, w) in lost for w in found[row.chunk_id])
        ]
        await _mark_collected(session, kept, found)
    return len(kept), added


async def _mark_collected(
    session: AsyncSession, batch: Sequence[Any], words: dict[Any, set[str]]
) -> None:
    """Write the batch's ``vocabulary_sources`` rows (chunks deleted since
    are left out); a row of a document's earlier model becomes a gone one,
    which the sweep of that model reads."""
    if not batch:
        return
    ids = [row.chunk_id for row in batch]
    await session.execute(
        sa.update(VocabularySource).where(VocabularySource.chunk_id.in_(ids)).values(chunk_id=None)
    )
    lists = {row.chunk_id: sa.cast(sorted(words[row.chunk_id]), ARRAY(sa.Text)) for row in batch}
    sources = insert(VocabularySource).from_select(
        ["chunk_id", "tenant_id", "model_version", "words", "word_list"],
        sa.select(
            Chunk.id,
            Chunk.tenant_id,
            Chunk.model_version,
            sa.case({c: len(words[c]) for c in ids}, value=Chunk.id, else_=0),
            sa.case(lists, value=Chunk.id, else_=sa.cast([], ARRAY(sa.Text))),
        ).where(Chunk.id.in_(ids)),
    )
    await session.execute(
        sources.on_conflict_do_update(
            index_elements=[VocabularySource.chunk_id],
            set_={
                "model_version": sources.excluded.model_version,
                "words": sources.excluded.words,
                "word_list": sources.excluded.word_list,
            },
        )
    )


class _session:
    """A new session from a sessionmaker, or the caller's session as is."""

    def __init__(self, source: async_sessionmaker[AsyncSession] | AsyncSession) -> None:
        self._source, self._own = source, not isinstance(source, AsyncSession)
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> AsyncSession:
        if isinstance(self._source, AsyncSession):
            return self._source
        self._session = self._source()
        return await self._session.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.__aexit__(*exc)


class _begin:
    """The session's own transaction when it has none open, committed at
    the end; else the caller's (nothing committed here)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._tx: Any = None

    async def __aenter__(self) -> None:
        if not self._session.in_transaction():
            self._tx = self._session.begin()
            await self._tx.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        if self._tx is not None:
            await self._tx.__aexit__(*exc)


async def collect(
    sessions: async_sessionmaker[AsyncSession],
    models: Models,
    *,
    tenant_id: uuid.UUID | None = None,
    max_words: int = VOCABULARY_MAX_WORDS,
    max_documents: int | None = None,
) -> VocabularySummary:
    """Collect pending documents' words batch after batch until ``max_words``
    words were embedded or ``max_documents`` documents done (or none left),
    then, when none was left, sweep the words no remaining document holds
    (:func:`~folio_worker_docs.vocabulary_sweep.sweep`); counts the
    documents still pending at the end."""
    started = time.monotonic()
    summary = VocabularySummary()
    drained = False
    while summary.words < max_words and (
        max_documents is None or summary.documents < max_documents
    ):
        limit = DOCUMENTS_PER_BATCH
        if max_documents is not None:
            limit = min(limit, max_documents - summary.documents)
        documents, words = await collect_batch(sessions, models, tenant_id=tenant_id, limit=limit)
        if not documents:
            drained = True
            break
        summary.documents += documents
        summary.words += words
    if drained:
        # a round stopped by its bounds leaves documents pending whose words
        # may be in the vocabulary already (collected before migration 0023,
        # or processed again since): the sweep waits for a round that ends
        # with none left, or it would take those words away
        summary.swept = await sweep(sessions, tenant_id=tenant_id)
    async with sessions() as session:
        summary.remaining = await count_pending(session, models, tenant_id=tenant_id)
    summary.seconds = round(time.monotonic() - started, 3)
    if summary.documents:
        log.info(
            "vocabulary collected",
            documents=summary.documents,
            words=summary.words,
            remaining_documents=summary.remaining,
            seconds=summary.seconds,
        )
    return summary
