"""A worker module running the test actors on Folio's broker and middleware
(``python -m dramatiq support.worker_main``, ``tests`` on the path)."""

from folio_shared.broker import setup_broker
from folio_shared.logging import configure_logging
from support.actors import declare

configure_logging(service="test-worker")
broker = setup_broker()
actors = declare(broker)
