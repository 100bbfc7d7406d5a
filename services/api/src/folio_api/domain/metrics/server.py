"""The API's Prometheus metrics, on a port of their own (as the workers').

``/metrics`` is not a route of the public API: an attacker reaching the API
must not read its request counts, latencies and queue figures. ``folio-api``
serves :func:`folio_shared.metrics.process_registry` (every process's
samples in multiprocess mode) on ``FOLIO_METRICS_PORT`` (default 9191; 0:
off), bound to ``FOLIO_API_HOST``'s address like the API itself, so a pod
exposes it to Prometheus (the NetworkPolicy admits only the monitoring
namespace) and ``make dev`` keeps it on loopback.
"""

from __future__ import annotations

from typing import Any

from prometheus_client.exposition import start_http_server

from folio_shared.logging import get_logger
from folio_shared.metrics import process_registry
from folio_shared.settings import FolioSettings

log = get_logger(__name__)


def serve_metrics(settings: FolioSettings) -> Any | None:
    """Start the metrics server in a daemon thread; the server (``None``
    when the port is 0 or taken: then it is logged and the API serves on)."""
    port = settings.metrics.port
    if not port:
        return None
    try:
        server, _thread = start_http_server(port, settings.api.host, process_registry())
    except OSError as e:
        log.warning("metrics port taken; not serving metrics", port=port, error=str(e))
        return None
    log.info("serving metrics", host=settings.api.host, port=port)
    return server
