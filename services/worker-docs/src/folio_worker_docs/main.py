"""worker-docs: the module Dramatiq's worker imports.

It only wires things: logging, the broker (Folio's middleware stack), then
the actors of this service. The work itself lives in ``actors/``.
"""

from folio_shared.broker import setup_broker
from folio_shared.logging import configure_logging
from folio_shared.settings import get_settings
from folio_shared.telemetry import configure_tracing

#: Worker threads that take search queries only (besides FOLIO_WORKER_THREADS).
QUERY_THREADS = 2

configure_logging(service="worker-docs")
configure_tracing(get_settings(), service_name="worker-docs")
broker = setup_broker()

from folio_shared.lanes import QueueLane  # noqa: E402
from folio_shared.messages import Queue  # noqa: E402
from folio_shared.resources import OnBoot, OnShutdown  # noqa: E402
from folio_worker_docs import actors  # noqa: E402  (actors bind to the broker set up above)
from folio_worker_docs.embedders import warm_up  # noqa: E402
from folio_worker_docs.extracting import close_pools as close_pool  # noqa: E402
from folio_worker_docs.webhooks.relay_loop import WebhookRelay  # noqa: E402

broker.add_middleware(OnShutdown(close_pool))
broker.add_middleware(WebhookRelay())
# Search queries on threads of their own: a user waits for them, and they
# must never queue behind documents that hold every worker thread for minutes.
broker.add_middleware(QueueLane([Queue.QUERIES], threads=QUERY_THREADS))
if get_settings().pipeline.warm_up:
    broker.add_middleware(OnBoot(warm_up))

__all__ = ["actors", "broker"]
