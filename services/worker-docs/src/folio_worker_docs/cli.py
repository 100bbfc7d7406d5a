"""``folio-worker-docs``: run the document worker."""

from folio_shared.messages import Queue
from folio_shared.worker import run_worker

#: The queues worker-docs consumes (worker-ocr consumes ``ocr``).
QUEUES = (
    Queue.DOCUMENTS,
    Queue.DOCUMENTS_LARGE,
    Queue.EMBEDDINGS,
    Queue.QUERIES,
    Queue.MAINTENANCE,
)


def run() -> None:
    run_worker("folio_worker_docs.main", QUEUES)


def export_query_model() -> None:
    """``folio-worker-docs-export-query-model``: export the embedding model
    for ONNX Runtime into ``FOLIO_PIPELINE_MODEL_CACHE_DIR`` ahead of time
    (the image build does, so workers start without it); exit status 1 when
    queries would stay on torch."""
    import logging
    import sys

    from folio_shared.settings import get_settings
    from folio_worker_docs.embeddings.model import get_embedder

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings().pipeline
    if not get_embedder().use_onnx_for_queries(
        cache_dir=settings.model_cache_dir, threads=settings.query_threads
    ):
        sys.exit(1)
