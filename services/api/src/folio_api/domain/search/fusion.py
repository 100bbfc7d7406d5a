"""How much hybrid search trusts the semantic list, by embedding model and
query language.

The embedding model a deployment runs (``FOLIO_PIPELINE_EMBEDDING_MODEL``)
reads some languages better than others: all-MiniLM-L6-v2 reads English
only, so its ranking of a Portuguese question is little better than chance
while BM25 in the document's language still finds shared words. Hybrid's
convex combination ``w · semantic' + (1 - w) · keyword'`` therefore takes
``w`` from the query's language (:func:`folio_shared.language.detect_query_language`)
and the model: :data:`MODEL_WEIGHTS`, measured on Folio's relevance sets
with ``bench/search_relevance.py`` (``docs/adr/0007-search-ranking.md``).
A query of unknown language, or a model not listed, gets
:data:`DEFAULT_SEMANTIC_WEIGHT`. Under ``by-language`` a query is embedded
by the model of its language and compared with that model's chunks
(:func:`preferred`), or, in a tenant holding none of those, with another
model's; while the tenant's switch to that model is incomplete, by the
model its chunks still use (:func:`query_model`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from folio_shared.embedding_models import (
    BY_LANGUAGE,
    DEFAULT_MODEL,
    LANGUAGE_MODELS,
    MODELS,
    model_for,
)

#: The semantic weight where nothing more specific is known.
DEFAULT_SEMANTIC_WEIGHT = 0.9

#: model -> query language -> semantic weight (measured, see the ADR).
MODEL_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "all-MiniLM-L6-v2": {"en": 0.9, "pt": 0.2},
    "multilingual-e5-small": {"en": 0.7, "pt": 0.7},
    "multilingual-e5-small-enpt": {"en": 0.9, "pt": 0.9},
    # each language's query by its own model; a Portuguese document scored
    # by its best e5 chunk and its centroid (folio_api.domain.search.semantic)
    BY_LANGUAGE: {"en": 0.9, "pt": 0.95},
}


def language_weights(model: str) -> Mapping[str, float]:
    """Query language -> semantic weight for ``model`` (empty when the
    model was not measured: every query gets the default)."""
    return MODEL_WEIGHTS.get(model, {})


def preferred(models: Sequence[str], language: str | None) -> list[str]:
    """``models`` in the order search tries them for a query in
    ``language`` (``by-language``): the model of the query's language
    first (the default model's when the language is unknown), then the
    others as given."""
    own = LANGUAGE_MODELS.get(language or "", DEFAULT_MODEL)
    return sorted(models, key=lambda model: model != own)


def query_model(models: Sequence[str], held: Iterable[tuple[str | None, str]]) -> str:
    """The one model a query is embedded by (``by-language``), from
    ``models`` in :func:`preferred`'s order (its language's model first)
    and the (language, model version) pairs the tenant's chunks hold.

    The tenant's switch to the query's model is *complete* when it holds
    no chunk of a language that model embeds (every language but
    Portuguese for all-MiniLM-L6-v2, Portuguese for multilingual-e5-small)
    still on another model. Until then the query is embedded by that other
    model (the first of them in :data:`~folio_shared.embedding_models.MODELS`
    when there are several) and ranked among its chunks: the old vectors,
    which re-embedding leaves in place until the tenant's new ones are all
    there. Otherwise its own model, when the tenant holds any of its
    chunks or no chunk at all; else the first model of ``models`` the
    tenant holds chunks of, then any other it holds."""
    own = models[0]
    names = [(language or None, version.split("@")[0]) for language, version in held if version]
    names = [(language, name) for language, name in names if name in MODELS]
    lagging = {name for lang, name in names if name != own and model_for(BY_LANGUAGE, lang) == own}
    if lagging:
        return min(lagging, key=MODELS.index)
    found = {name for _, name in names}
    if own in found or not found:
        return own
    return next((m for m in models if m in found), min(found, key=MODELS.index))
