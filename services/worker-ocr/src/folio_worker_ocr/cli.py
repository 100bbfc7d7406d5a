"""``folio-worker-ocr``: run the OCR worker."""

from folio_shared.messages import Queue
from folio_shared.worker import run_worker

#: The queues worker-ocr consumes.
QUEUES = (Queue.OCR,)


def run() -> None:
    run_worker("folio_worker_ocr.main", QUEUES)
