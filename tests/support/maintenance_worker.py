"""A worker module running only worker-docs' maintenance actors on Folio's
broker and middleware (``python -m dramatiq support.maintenance_worker``)."""

from folio_shared.broker import setup_broker
from folio_shared.logging import configure_logging

configure_logging(service="test-maintenance-worker")
broker = setup_broker()

from folio_worker_docs.actors import maintenance  # noqa: E402  (binds to the broker above)

__all__ = ["broker", "maintenance"]
