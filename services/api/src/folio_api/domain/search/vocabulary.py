"""Words added to a keyword query: the tenant's own words nearest the
query's meaning.

A question rarely uses its document's words (``bichano`` for the cat of a
vet's receipt). Keyword search alone (``mode=keyword``) adds to the query
the :data:`~folio_shared.vocabulary.EXPANSION_WORDS` words of the tenant's
vocabulary (``vocabulary_words``: each word of its documents embedded
alone, by its documents' model, filled by worker-docs off the documents'
path) whose vectors are nearest the query's vector by that model, leaving
out the query's own words; they count
:attr:`~folio_api.domain.search.repository.SearchOptions.expansion_weight`
of a query word (measured: ``docs/adr/0007-search-ranking.md``). The
search is exact: every word of the tenant's vocabulary for that model is
compared with the query (through the primary key's tenant and model
prefix), which stays a few milliseconds for tens of thousands of words
(``docs/benchmarks.md``).

The model is the one hybrid search would embed the query with (its
language's under ``by-language``), or, when the tenant's vocabulary holds
none of that model's words, the first of the deployment's models it holds
words of. A query whose language is unknown (``kitten surgery``, two
words) in a tenant holding words of several models (documents in both
languages under ``by-language``) is embedded by each, and each adds its
nearest words: the right language's find the document, the other's are
words of the other language's documents, which a question in that
language does not hold. No vocabulary for any model: no words added, and
the query is not embedded at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.search.fusion import preferred
from folio_api.domain.search.keywords import parse_keywords
from folio_shared.embedding_models import BY_LANGUAGE, models_of, version_pattern
from folio_shared.errors import DependencyUnavailable
from folio_shared.language import detect_query_language
from folio_shared.logging import get_logger
from folio_shared.vocabulary import EXPANSION_WORDS, words_of

log = get_logger(__name__)

#: Embeds the query by each of the models named (``None``: the
#: deployment's one model), all at once; raises
#: :class:`~folio_shared.errors.DependencyUnavailable` when it cannot.
Embed = Callable[[Sequence[str | None]], Awaitable[list[list[float]]]]

_HOLDS = """
SELECT EXISTS (
    SELECT 1 FROM vocabulary_words
    WHERE tenant_id = :tenant_id AND model_version LIKE :pattern
)
"""

_NEAREST = """
SELECT word FROM vocabulary_words
WHERE tenant_id = :tenant_id AND model_version LIKE :pattern
ORDER BY embedding <=> CAST(:vector AS vector)
LIMIT :limit
"""


async def vocabulary_models(
    session: AsyncSession, tenant_id: uuid.UUID, models: Sequence[str]
) -> list[str]:
    """Those of ``models`` (names, in their order) the tenant's vocabulary
    holds words of."""
    held = []
    for model in models:
        params = {"tenant_id": tenant_id, "pattern": version_pattern(model)}
        if await session.scalar(sa.text(_HOLDS), params):
            held.append(model)
    return held


async def nearest_words(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    model: str,
    query: str,
    vector: Sequence[float],
    *,
    k: int = EXPANSION_WORDS,
) -> list[str]:
    """The ``k`` words of the tenant's vocabulary for ``model`` nearest
    ``vector`` (``query``'s, by that model), the query's own words left
    out, nearest first."""
    own = set(words_of(query, None))
    found = await session.scalars(
        sa.text(_NEAREST),
        {
            "tenant_id": tenant_id,
            "pattern": version_pattern(model),
            "vector": "[" + ",".join(repr(float(x)) for x in vector) + "]",
            "limit": k + len(own),
        },
    )
    words = list(dict.fromkeys(w for w in found if w not in own))
    return words[:k]


async def added_words(
    session: AsyncSession, tenant_id: uuid.UUID, query: str, setting: str, embed: Embed
) -> list[str]:
    """The words keyword search adds to ``query`` in a deployment embedding
    with ``setting`` (``FOLIO_PIPELINE_EMBEDDING_MODEL``): see the module
    docstring. ``embed`` is called only when the tenant has a vocabulary;
    when it raises, no words are added. A query that wants no word (only
    exclusions, ``-gato``) gets none: its vector means what it excludes."""
    if not parse_keywords(query).words:
        return []
    by_language = setting == BY_LANGUAGE
    language = detect_query_language(query)
    models = preferred(models_of(setting), language) if by_language else [setting]
    held = await vocabulary_models(session, tenant_id, models)
    if not held:
        return []
    if by_language and language is not None:
        held = held[:1]  # the query language's model, else the one the tenant holds
    try:
        vectors = await embed([m if by_language else None for m in held])
    except DependencyUnavailable as e:
        log.warning("keyword search adds no words", reason=e.code)
        return []
    added: list[str] = []
    for model, vector in zip(held, vectors, strict=True):
        added += await nearest_words(session, tenant_id, model, query, vector)
    return list(dict.fromkeys(added))
