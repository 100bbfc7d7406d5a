"""``GET /metrics``: the API process's Prometheus metrics (no authentication;
keep the port private). Serves :func:`folio_shared.metrics.render`: every
process's samples in multiprocess mode, this process's otherwise."""

from __future__ import annotations

from litestar import Controller, Response, get

from folio_shared import metrics


class MetricsController(Controller):
    """The scrape endpoint, outside ``/v1`` and never cached."""

    tags = ["ops"]
    cache_control = None

    @get("/metrics", summary="Prometheus metrics (exposition text format)", sync_to_thread=False)
    def scrape(self) -> Response[bytes]:
        body, content_type = metrics.render()
        # Litestar appends "; charset=utf-8" to text/* media types itself.
        media_type = "; ".join(
            p for p in content_type.split("; ") if not p.lower().startswith("charset=")
        )
        return Response(body, media_type=media_type)
