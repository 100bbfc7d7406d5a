"""The broker module Dramatiq imports in each process of a worker of job
kinds: ``python -m dramatiq folio_shared.kinds.boot my_package.jobs
--queues media ...`` (started by :func:`folio_shared.kinds.run.run_kinds_worker`).

It only wires things: logging and tracing, Folio's broker and middleware,
and :class:`~folio_shared.kinds.record.KindWorkers`, which binds the kinds
the next modules declare (those on the worker's queues) as actors when the
worker boots, and records them in PostgreSQL.
"""

from folio_shared.broker import setup_broker
from folio_shared.jobs.middleware import JobTracking
from folio_shared.kinds.record import KindWorkers
from folio_shared.logging import configure_logging
from folio_shared.settings import get_settings
from folio_shared.telemetry import configure_tracing

configure_logging(service="jobs-worker")
configure_tracing(get_settings(), service_name="jobs-worker")
broker = setup_broker()
broker.add_middleware(KindWorkers(), before=JobTracking)

__all__ = ["broker"]
