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
by each model and compared with that model's chunks: :func:`list_weights`
says how much each list counts.
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

#: Under ``by-language``, a semantic list whose model is not the query
#: language's weighs this much beside the one whose model is (measured,
#: see the ADR 0008 amendment); a query of unknown language weighs all 1.
OTHER_MODEL_WEIGHT = 0.3


def language_weights(model: str) -> Mapping[str, float]:
    """Query language -> semantic weight for ``model`` (empty when the
    model was not measured: every query gets the default)."""
    return MODEL_WEIGHTS.get(model, {})


def list_weights(
    models: Sequence[str], language: str | None, other: float = OTHER_MODEL_WEIGHT
) -> list[float]:
    """Each model's semantic-list weight for a query in ``language``: 1 for
    the model of the query's language (``by-language``), ``other`` for the
    rest; 1 for all when the language is unknown or its model not among
    ``models``."""
    own = LANGUAGE_MODELS.get(language or "", DEFAULT_MODEL) if language else None
    if own not in models:
        return [1.0 for _ in models]
    return [1.0 if model == own else other for model in models]
