"""The embedding model a deployment chose (``FOLIO_PIPELINE_EMBEDDING_MODEL``),
loaded once per process.

- ``all-MiniLM-L6-v2``: English; sentence-transformers on torch,
  queries on ONNX Runtime (:mod:`folio_worker_docs.embeddings.model`).
- ``multilingual-e5-small`` and ``multilingual-e5-small-enpt``: English,
  Portuguese and more (:mod:`folio_worker_docs.embeddings.e5`);
- ``by-language`` (default): each document by the model of its language
  (:class:`Models`, :mod:`folio_shared.embedding_models`); worker-docs
  loads each model on first use (:func:`folio_worker_docs.embedders.embedder`).

Every name gives 384-dimensional unit vectors; chunks carry the
``model_version`` that made them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from folio_shared.cpus import capped_threads
from folio_shared.embedding_models import BY_LANGUAGE, LANGUAGE_MODELS, model_for, models_of
from folio_worker_docs.embeddings.e5 import VARIANTS, E5Embedder, load_e5, passive_openmp
from folio_worker_docs.embeddings.model import (
    DEFAULT_MODEL_NAME,
    Embedder,
    EmbeddingModelUnavailable,
    get_embedder,
)

if TYPE_CHECKING:
    from folio_shared.settings import FolioSettings, PipelineSettings

#: Every model a deployment can choose.
MODEL_NAMES = (DEFAULT_MODEL_NAME, *VARIANTS)

_LOCK = threading.Lock()
_LOADED: dict[str, Embedder] = {}


def load_embedder(name: str = DEFAULT_MODEL_NAME, *, threads: int | None = None) -> Embedder:
    """The model called ``name`` (one of :data:`MODEL_NAMES`), loaded on the
    first call in this process and reused after. ``threads``: the E5
    engine's threads (default every core; the first load decides)."""
    if name == DEFAULT_MODEL_NAME:
        return get_embedder()
    if name not in VARIANTS:
        raise EmbeddingModelUnavailable(
            f"unknown embedding model {name!r}", model=name, known=list(MODEL_NAMES)
        )
    with _LOCK:
        embedder = _LOADED.get(name)
        if embedder is None:
            embedder = _LOADED[name] = load_e5(name, threads=threads)
    return embedder


def prepare_threads(setting: str) -> None:
    """Before the first model of a deployment (``setting``) is loaded: where
    one of its models is E5, OpenMP threads wait passively, torch's as well
    (:func:`~folio_worker_docs.embeddings.e5.passive_openmp`)."""
    if any(name in VARIANTS for name in models_of(setting)):
        passive_openmp()


@dataclass(frozen=True, slots=True)
class Models:
    """The model each chunk should have been embedded by: ``by_language``'s
    for a chunk in one of its languages, ``default`` for the others."""

    default: Embedder
    by_language: Mapping[str, Embedder] = field(default_factory=dict)

    def of(self, language: str | None) -> Embedder:
        return self.by_language.get(language or "", self.default)

    @property
    def model_version(self) -> str:
        versions = [self.default.model_version]
        versions += [e.model_version for e in self.by_language.values()]
        return ", ".join(dict.fromkeys(versions))


def query_threads(settings: FolioSettings) -> int:
    """The threads of ONNX Runtime and the E5 engine:
    ``FOLIO_PIPELINE_QUERY_THREADS``, at most the cores the process may use
    (the container's CPU limit or ``FOLIO_WORKER_CPUS``,
    :func:`folio_shared.cpus.capped_threads`), as torch's threads are."""
    return capped_threads(settings.pipeline.query_threads, settings.worker.cpus)


def deployment_models(setting: str, *, threads: int | None = None) -> Models:
    """The models of ``FOLIO_PIPELINE_EMBEDDING_MODEL`` = ``setting``
    (:mod:`folio_shared.embedding_models`), loaded."""
    by_language = LANGUAGE_MODELS if setting == BY_LANGUAGE else {}
    prepare_threads(setting)
    return Models(
        load_embedder(model_for(setting, None), threads=threads),
        {lang: load_embedder(name, threads=threads) for lang, name in by_language.items()},
    )


def use_runtimes(model: Embedder, pipeline: PipelineSettings, *, threads: int) -> str:
    """Switch ``model``'s queries and chunks to the runtimes
    ``FOLIO_PIPELINE_QUERY_RUNTIME`` and ``FOLIO_PIPELINE_DOCUMENT_RUNTIME``
    ask for (each checked before use, else falling back); returns what
    embeds chunks now (:attr:`Embedder.documents_runtime`)."""
    cache_dir = pipeline.model_cache_dir
    if pipeline.query_runtime == "onnx" and isinstance(model, E5Embedder):
        model.start_onnx_for_queries(threads=threads)  # the engine answers meanwhile
    elif pipeline.query_runtime == "onnx":
        model.use_onnx_for_queries(cache_dir=cache_dir, threads=threads)
    runtime = pipeline.document_runtime
    if runtime == "auto":
        model.use_runtime_for_cpu(cache_dir=cache_dir, threads=threads)
    elif runtime == "bf16":
        model.use_fast_documents(cache_dir=cache_dir, threads=threads)
    elif runtime == "int8":
        model.use_int8(cache_dir=cache_dir, threads=threads)
    elif runtime == "onnx":
        model.use_onnx_for_documents(cache_dir=cache_dir, threads=threads)
    return model.documents_runtime
