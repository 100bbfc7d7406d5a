"""Sweeping each tenant's vocabulary: the words no remaining document holds.

A ``vocabulary_sources`` row holds the words its document held when it
was collected (``word_list``, migration 0023). When the document's first
chunk goes (the document deleted, processed again, or moved to another
embedding model), the row stays with ``chunk_id`` ``NULL``: a *gone*
source. For each (tenant, model) with a gone source, :func:`sweep` deletes
in one transaction the gone rows and the words of that vocabulary no
remaining source holds: a set difference in SQL (the vocabulary's words
``EXCEPT`` the remaining word lists), no count per word, then deleted
through the primary key. So a name from a
deleted document stops being a query expansion, and the vocabulary of a
model the deployment no longer embeds with empties as its documents move
to the new model (each document's old row becomes a gone one once its
words are collected for the new model: the new vocabulary is complete for
a word before the old one loses it; keyword search never adds words of a
model the deployment does not use, ``folio_api.domain.search.vocabulary``).

The scheduler's ``reembed_chunks`` maintenance task runs a sweep after
each round of collection that left no document pending
(:func:`folio_worker_docs.vocabulary.collect`).
A sweep and a batch's writes are serialised per tenant
(:func:`lock_tenants`), and a batch checks again, under that lock, that
the words it found held still are, so a sweep never removes a word a
document collected at the same moment holds. A word held only by a
document whose chunks were stored after the round's last batch can be
swept and is embedded again when that document is collected.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_shared.db.models import VocabularyWord
from folio_shared.logging import get_logger

log = get_logger(__name__)

_GONE = """
SELECT DISTINCT tenant_id, model_version FROM vocabulary_sources
WHERE chunk_id IS NULL {tenant}
"""

_DELETE_GONE = """
DELETE FROM vocabulary_sources
WHERE chunk_id IS NULL AND tenant_id = :tenant_id AND model_version = :model_version
"""

#: The words of one tenant's vocabulary for one model that no remaining
#: source holds: a set difference, hashed or sorted whatever the planner
#: estimates (a join of the vocabulary with it was planned as a nested
#: loop on stale statistics: 196 s for 30,000 words, ``bench/vocabulary_sweep.py``).
_UNHELD = """
SELECT word FROM vocabulary_words
WHERE tenant_id = :tenant_id AND model_version = :model_version
EXCEPT
SELECT unnest(word_list) FROM vocabulary_sources
WHERE tenant_id = :tenant_id AND model_version = :model_version AND chunk_id IS NOT NULL
"""


async def lock_tenants(session: AsyncSession, tenants: Iterable[uuid.UUID]) -> None:
    """Serialise vocabulary writes and sweeps of ``tenants`` until the
    session's transaction ends (in one order, so two never wait on each
    other)."""
    for tenant in sorted(set(tenants)):
        await session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended('folio:vocabulary:' || :t, 0))"),
            {"t": str(tenant)},
        )


async def sweep(
    sessions: async_sessionmaker[AsyncSession], *, tenant_id: uuid.UUID | None = None
) -> int:
    """Sweep every (tenant, model) vocabulary with a gone source (of
    ``tenant_id``, default every tenant's), one transaction each; returns
    how many words were deleted."""
    started = time.monotonic()
    params: dict[str, Any] = {"tenant_id": tenant_id} if tenant_id else {}
    async with sessions() as session:
        sql = _GONE.format(tenant="AND tenant_id = :tenant_id" if tenant_id else "")
        pairs = list((await session.execute(sa.text(sql), params)).all())
    deleted = 0
    for tenant, version in pairs:
        async with sessions() as session, session.begin():
            await lock_tenants(session, [tenant])
            key = {"tenant_id": tenant, "model_version": version}
            await session.execute(sa.text(_DELETE_GONE), key)
            unheld = list(await session.scalars(sa.text(_UNHELD), key))
            if unheld:
                # one array parameter, probed through the primary key
                await session.execute(
                    sa.delete(VocabularyWord).where(
                        VocabularyWord.tenant_id == tenant,
                        VocabularyWord.model_version == version,
                        VocabularyWord.word
                        == sa.any_(sa.bindparam("words", unheld, ARRAY(sa.Text))),
                    )
                )
            deleted += len(unheld)
    if pairs:
        log.info(
            "vocabulary swept",
            vocabularies=len(pairs),
            words=deleted,
            seconds=round(time.monotonic() - started, 3),
        )
    return deleted
