"""``folio-worker-docs``: run the document worker."""

from folio_shared.messages import Queue
from folio_shared.worker import run_worker

#: The queues worker-docs consumes (worker-ocr consumes ``ocr``).
QUEUES = (
    Queue.DOCUMENTS,
    Queue.DOCUMENTS_LARGE,
    Queue.QUERIES,
    Queue.MAINTENANCE,
    Queue.WEBHOOKS,
)


def run() -> None:
    run_worker("folio_worker_docs.main", QUEUES)


def export_query_model() -> None:
    """``folio-worker-docs-export-query-model``: export the embedding model
    for ONNX Runtime into ``FOLIO_PIPELINE_MODEL_CACHE_DIR`` ahead of time,
    with its int8 copy (the image build does, so workers start without
    making either: on a CPU where ``auto`` picks int8 the copy cost a first
    start 10-20 s more than a restart, ``bench/int8_first_start.py``); exit
    status 1 when queries would stay on torch."""
    import logging
    import sys

    from folio_shared.settings import get_settings
    from folio_worker_docs.embeddings.model import get_embedder
    from folio_worker_docs.embeddings.onnx import write_int8_copy
    from folio_worker_docs.embeddings.select import query_threads

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    model = get_embedder()
    cache_dir = settings.pipeline.model_cache_dir
    if not model.use_onnx_for_queries(cache_dir=cache_dir, threads=query_threads(settings)):
        sys.exit(1)
    write_int8_copy(model, cache_dir)


def reembed() -> None:
    """``folio-worker-docs-reembed [--tenant ID] [--max-documents N]``:
    re-embed the chunks not made by the deployment's embedding model
    (``FOLIO_PIPELINE_EMBEDDING_MODEL``; under ``by-language``, by the model
    of the chunk's language), one document per transaction
    (:mod:`folio_worker_docs.reembed`); prints a JSON summary. Exit status
    0 when no document is left on another model, 3 when some are (run
    again to go on)."""
    import argparse
    import asyncio
    import dataclasses
    import json
    import sys
    import uuid

    from folio_shared.db.engine import create_engine, create_session_factory
    from folio_shared.settings import get_settings
    from folio_worker_docs.embeddings.select import deployment_models, query_threads
    from folio_worker_docs.reembed import reembed as run_reembed

    parser = argparse.ArgumentParser(prog="folio-worker-docs-reembed", description=reembed.__doc__)
    parser.add_argument("--tenant", type=uuid.UUID, help="only this tenant's chunks")
    parser.add_argument("--max-documents", type=int, help="stop after this many documents")
    args = parser.parse_args()
    settings = get_settings()
    models = deployment_models(settings.pipeline.embedding_model, threads=query_threads(settings))

    async def main() -> int:
        engine = create_engine(settings)
        try:
            summary = await run_reembed(
                create_session_factory(engine),
                models,
                tenant_id=args.tenant,
                max_documents=args.max_documents,
            )
        finally:
            await engine.dispose()
        print(json.dumps(dataclasses.asdict(summary)))
        return 3 if summary.remaining else 0

    sys.exit(asyncio.run(main()))
