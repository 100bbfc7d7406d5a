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
