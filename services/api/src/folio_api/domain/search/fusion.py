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
by each model and compared with the chunks of its language's model
(:func:`preferred`), or, in a tenant holding none of those, with another
model's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from folio_shared.embedding_models import BY_LANGUAGE, DEFAULT_MODEL, LANGUAGE_MODELS

#: The semantic weight where nothing more specific is known.
DEFAULT_SEMANTIC_WEIGHT = 0.9

#: model -> query language -> semantic weight (measured, see the ADR).
MODEL_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "all-MiniLM-L6-v2": {"en": 0.9, "pt": 0.2},
    "multilingual-e5-small": {"en": 0.7, "pt": 0.7},
    "multilingual-e5-small-enpt": {"en": 0.9, "pt": 0.9},
    # each language's query by its own model, weighed as that model is
    BY_LANGUAGE: {"en": 0.9, "pt": 0.7},
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
