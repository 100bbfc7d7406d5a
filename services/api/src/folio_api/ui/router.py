"""``/ui``: the dashboard's routes, its templates and its static files.

- ``/ui/login`` and ``/ui/static/*`` need no session;
- every other page goes through :class:`~folio_api.ui.auth.UiAuthMiddleware`
  (the session cookie), tenant pages through
  :func:`~folio_api.ui.auth.tenant_page`, operator pages
  (``/ui/ops/*``) through :func:`~folio_api.ui.auth.operator_page`.

Errors on these routes are pages, not problem details: the same status
(404 for another tenant's ids, 403 for a tenant on an operator page or a
form without its CSRF token), with the reason in words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from folio_api.domain.auth.guards import dependencies
from folio_api.errors import exception_handlers
from folio_api.ui.auth import OperatorHasNoTenantError, UiAuthMiddleware
from folio_api.ui.context import FILTERS
from folio_api.ui.kinds import KindPages
from folio_api.ui.live import LivePages
from folio_api.ui.ops import OpsPages
from folio_api.ui.signin import SignIn, SignOut
from folio_api.ui.tenant import TenantPages
from folio_shared.errors import FolioError

HERE = Path(__file__).parent
#: Static assets (CSS, the page script), shipped with the package.
STATIC = HERE / "static"


def _register_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(FILTERS)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The app's templates (``templates/ui/*.html``; autoescaped)."""
    return TemplateConfig(
        directory=HERE / "templates",
        engine=JinjaTemplateEngine,
        engine_callback=_register_filters,
    )


def _error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """An error on a dashboard route as a page with the same status."""
    if isinstance(exc, OperatorHasNoTenantError):
        return Redirect("/ui/ops/queues", status_code=303)
    if isinstance(exc, FolioError):
        status, detail = exc.http_status, exc.message
    elif isinstance(exc, HTTPException):
        status, detail = exc.status_code, exc.detail
    else:
        handler = exception_handlers()[Exception]
        return handler(request, exc)
    if "application/json" in request.headers.get("accept", "") or request.url.path.endswith(
        "/events"
    ):
        return exception_handlers()[FolioError if isinstance(exc, FolioError) else HTTPException](
            request, exc
        )
    return Template(
        template_name="ui/error.html",
        context={"title": f"Error {status}", "status": status, "detail": detail},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


#: Headers of every dashboard answer: scripts, styles and images from this
#: server only (no inline script), never framed, no referrer to other sites.
PAGE_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class PageHeaders(ASGIMiddleware):
    """Adds :data:`PAGE_HEADERS` to every answer under ``/ui``."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *PAGE_HEADERS]
            await send(message)

        await next_app(scope, receive, send_with_headers)


#: Error handlers of the dashboard's routes.
PAGE_ERRORS = {
    OperatorHasNoTenantError: _error_page,
    FolioError: _error_page,
    HTTPException: _error_page,
}


def ui_router() -> Router:
    """``/ui`` and everything under it."""
    pages = Router(
        "/",
        route_handlers=[TenantPages, LivePages, KindPages, OpsPages, SignOut],
        middleware=[UiAuthMiddleware()],
        dependencies=dependencies,
    )
    return Router(
        "/ui",
        route_handlers=[
            SignIn,
            pages,
            create_static_files_router(
                "/static",
                directories=[STATIC],
                cache_control=CacheControlHeader(max_age=3600),
                include_in_schema=False,
            ),
        ],
        exception_handlers=PAGE_ERRORS,  # type: ignore[arg-type]
        middleware=[PageHeaders()],
        include_in_schema=False,
    )
