"""worker-ocr: the module Dramatiq's worker imports.

It only wires things: logging, the broker (Folio's middleware stack), then
the actors of this service. The work itself lives in ``actors/``.
"""

from folio_shared.broker import setup_broker
from folio_shared.logging import configure_logging

configure_logging(service="worker-ocr")
broker = setup_broker()

from folio_shared.resources import OnShutdown  # noqa: E402
from folio_worker_ocr import actors  # noqa: E402  (actors bind to the broker set up above)
from folio_worker_ocr.actors.ocr import close_pool  # noqa: E402

broker.add_middleware(OnShutdown(close_pool))

__all__ = ["actors", "broker"]
