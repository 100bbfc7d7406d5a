"""``folio-api``: serve the API with uvicorn on ``FOLIO_API_HOST:FOLIO_API_PORT``,
and its metrics on ``FOLIO_API_HOST:FOLIO_METRICS_PORT``."""

from __future__ import annotations

import uvicorn

from folio_api.app import create_app
from folio_api.domain.metrics.server import serve_metrics
from folio_api.http import HttpToolsProtocol
from folio_shared.settings import get_settings


def run() -> None:
    """Console entry point: build the app from the settings and serve it."""
    settings = get_settings()
    app = create_app(settings)  # refuses unsafe settings before any port opens
    serve_metrics(settings)
    uvicorn.run(
        app,
        host=settings.api.host,
        port=settings.api.port,
        log_level=settings.log.level.lower(),
        proxy_headers=True,
        http=HttpToolsProtocol,  # each answer in one write (see folio_api.http)
    )


if __name__ == "__main__":
    run()
