"""A worker module for the job-engine fault tests: Folio's broker and
middleware, with the test actors (run by ``python -m dramatiq worker_main``)."""

from job_actors import declare

from folio_shared.broker import setup_broker
from folio_shared.logging import configure_logging

configure_logging(service="test-worker")
broker = setup_broker()
actors = declare(broker)
