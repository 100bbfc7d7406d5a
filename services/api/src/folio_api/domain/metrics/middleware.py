"""Counts every HTTP request the API answers, by method, route template and
status, with its latency (:func:`folio_shared.metrics.observe_http_request`).

The route label is Litestar's path *template* (``/v1/jobs/{job_id}``), never
the raw path, so the label set stays bounded; requests that match no route
(404 before routing) are not counted. The status is the one the response
starts with (errors turned into problem details included); a request whose
handler fails before any response starts counts as 500.
"""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from folio_shared.metrics import observe_http_request
from folio_shared.telemetry import exporting

_tracer = trace.get_tracer("folio_api")


class HttpMetricsMiddleware(ASGIMiddleware):
    """Observe each HTTP request (websockets and lifespan are ignored).

    - ``exclude_paths``: route templates not counted (default none; e.g.
      ``("/metrics",)`` to leave scrapes out).
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, *, exclude_paths: tuple[str, ...] = ()) -> None:
        self.exclude_paths = frozenset(exclude_paths)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        route = scope.get("path_template") or "unmatched"
        if route in self.exclude_paths:
            await next_app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method = str(scope.get("method", "GET"))
        try:
            if not exporting():  # no span nobody would see (see folio_shared.telemetry)
                await next_app(scope, receive, send_wrapper)
                return
            # A server span per request: messages sent while handling it carry
            # its trace context, so one trace runs from the upload to the
            # workers (see folio_shared.telemetry.Tracing).
            with _tracer.start_as_current_span(
                f"{method} {route}",
                kind=SpanKind.SERVER,
                attributes={"http.request.method": method, "http.route": route},
            ) as span:
                await next_app(scope, receive, send_wrapper)
                span.set_attribute("http.response.status_code", status)
        finally:
            observe_http_request(
                str(scope.get("method", "GET")), route, status, time.perf_counter() - started
            )
