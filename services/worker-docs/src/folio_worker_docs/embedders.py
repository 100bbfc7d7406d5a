"""The embedding models of a worker-docs process: loaded once each, on
first use, with the runtimes the settings ask for; and the batcher that
lets documents finished at the same time share model calls."""

from __future__ import annotations

import asyncio
import functools
import time
import weakref

from folio_shared import embedding_models
from folio_shared.logging import get_logger
from folio_shared.resources import resources
from folio_worker_docs.embeddings.batcher import EmbeddingBatcher
from folio_worker_docs.embeddings.cpu import share_cores
from folio_worker_docs.embeddings.model import Embedder, EmbeddingModelUnavailable
from folio_worker_docs.embeddings.select import (
    Models,
    load_embedder,
    prepare_threads,
    query_threads,
    use_runtimes,
)

log = get_logger(__name__)


@functools.cache
def embedder(name: str | None = None) -> Embedder:
    """The embedding model ``name`` (default: the deployment's first,
    :func:`folio_shared.embedding_models.models_of`), loaded on first use
    in this process (queries on ONNX Runtime unless
    ``FOLIO_PIPELINE_QUERY_RUNTIME=torch``: all-MiniLM-L6-v2's export,
    checked before the model is returned; multilingual-e5-small's, built
    and checked in the background while its engine answers; chunks as
    ``FOLIO_PIPELINE_DOCUMENT_RUNTIME`` says). Any model Folio knows
    (:data:`folio_shared.embedding_models.MODELS`), not only the
    deployment's: while a tenant's chunks are re-embedded after a model
    change, its queries are embedded by the model its chunks still use. An
    unknown name raises :class:`EmbeddingModelUnavailable`."""
    settings = resources().settings.pipeline
    threads = query_threads(resources().settings)
    models = embedding_models.models_of(settings.embedding_model)
    if name is not None and name not in embedding_models.MODELS:
        raise EmbeddingModelUnavailable(
            f"unknown embedding model {name!r}", model=name, models=list(embedding_models.MODELS)
        )
    prepare_threads(name or settings.embedding_model)
    share_cores(settings.document_calls, resources().settings.worker.cpus or None)
    model = load_embedder(name or models[0], threads=threads)
    use_runtimes(model, settings, threads=threads)
    return model


def deployment_embedders() -> Models:
    """The deployment's models as :func:`embedder` loads them, by language
    (what re-embedding compares each chunk with)."""
    setting = resources().settings.pipeline.embedding_model
    by_language = {}
    if setting == embedding_models.BY_LANGUAGE:
        by_language = dict(embedding_models.LANGUAGE_MODELS)
    return Models(
        embedder(embedding_models.model_for(setting, None)),
        {lang: embedder(name) for lang, name in by_language.items()},
    )


def embedder_for(language: str | None) -> Embedder:
    """The model that embeds a document in ``language`` (``None``:
    unknown) in this deployment."""
    setting = resources().settings.pipeline.embedding_model
    return embedder(embedding_models.model_for(setting, language))


#: One batcher per event loop and model (the worker has one loop; tests may make several).
_BATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, EmbeddingBatcher]] = (
    weakref.WeakKeyDictionary()
)


def chunk_batcher(model: Embedder) -> EmbeddingBatcher:
    """The running loop's batcher of ``model``'s chunk embedding: documents
    finalised at the same time share model calls, and up to
    ``FOLIO_PIPELINE_DOCUMENT_CALLS`` calls run at once
    (:mod:`folio_worker_docs.embeddings.batcher`)."""
    batchers = _BATCHERS.setdefault(asyncio.get_running_loop(), {})
    batcher = batchers.get(model.model_version)
    if batcher is None or batcher.encode != model.encode:
        functions = model.batch_functions(resources().settings.pipeline.document_calls)
        batcher = batchers[model.model_version] = EmbeddingBatcher(
            model.encode, copies=functions[1:]
        )
    return batcher


def warm_up() -> None:
    """Load the deployment's first embedding model and embed one query
    with it (worker start-up). Under ``by-language`` multilingual-e5-small
    is loaded when a Portuguese document or query first needs it
    (:func:`embedder`), so a worker that sees only English never holds it."""
    for name in embedding_models.models_of(resources().settings.pipeline.embedding_model)[:1]:
        started = time.monotonic()
        model = embedder(name)
        model.encode_query("warm up")
        log.info(
            "embedding model ready",
            model_version=model.model_version,
            onnx_queries=model.query_encoder is not None,
            onnx_documents=model.document_encoder is not None,
            bf16_documents=model.bf16,
            document_runtime=model.documents_runtime,
            seconds=round(time.monotonic() - started, 1),
        )
