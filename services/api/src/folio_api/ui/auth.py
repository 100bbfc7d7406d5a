"""Who a dashboard request acts as: the session cookie, CSRF, roles.

- :class:`UiAuthMiddleware` (every ``/ui`` page but sign-in and the static
  files): loads the session named by the cookie and puts its principal
  where the API's handlers find it; without a live session a page answers
  a redirect to sign-in (``303``), a live stream or a script ``401``.
- :func:`csrf_guard` (every state-changing form): the session's CSRF token
  must come as the form field ``_csrf`` or the ``X-CSRF-Token`` header;
  otherwise ``403``.
- :func:`tenant_page` / :func:`operator_page`: tenant pages need a tenant
  key (an operator is sent to the operator pages); operator pages need an
  operator key (a tenant gets ``403``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect
from litestar.types import ASGIApp, Receive, Scope, Send

from folio_api.domain.auth.guards import PRINCIPAL_KEY
from folio_api.resources import get_resources
from folio_api.ui import sessions
from folio_api.ui.sessions import COOKIE, UiSession

#: Connection-state key of the :class:`~folio_api.ui.sessions.UiSession`.
SESSION_KEY = "ui_session"
#: Form field and header carrying the CSRF token.
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
#: Where signing in happens.
LOGIN_PATH = "/ui/login"


class OperatorOnly(PermissionDeniedException):
    """A tenant's session asked for an operator page."""


def _wants_page(scope: Scope) -> bool:
    """A browser navigating (redirect it) rather than a script or a stream."""
    if scope.get("method") != "GET":
        return False
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"text/html" in value
    return False


class UiAuthMiddleware(ASGIMiddleware):
    """Loads the session of the ``folio_session`` cookie (see the module)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        resources = get_resources(connection.app.state)
        token = connection.cookies.get(COOKIE)
        session = await sessions.load(resources.redis, resources.settings.broker.namespace, token)
        if session is not None:
            assert resources.sessions is not None
            if not await sessions.key_is_live(resources.sessions, session.principal.key_id):
                await sessions.delete(resources.redis, resources.settings.broker.namespace, token)
                session = None
        if session is None:
            if _wants_page(scope):
                target = scope["path"] + (
                    "?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""
                )
                redirect = Redirect(f"{LOGIN_PATH}?next={quote(target, safe='')}", status_code=303)
                await redirect.to_asgi_response(app=None, request=Request(scope))(
                    scope, receive, send
                )
                return
            raise NotAuthorizedException("sign in first")
        state: dict[str, Any] = scope.setdefault("state", {})
        state[PRINCIPAL_KEY] = session.principal
        state[SESSION_KEY] = session
        await next_app(scope, receive, send)


def current_session(connection: ASGIConnection[Any, Any, Any, Any]) -> UiSession:
    """The request's session (the middleware put it there)."""
    session = connection.scope.get("state", {}).get(SESSION_KEY)
    if not isinstance(session, UiSession):
        raise NotAuthorizedException("sign in first")
    return session


async def csrf_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse a state-changing request without the session's CSRF token."""
    session = current_session(connection)
    given = connection.headers.get(CSRF_HEADER)
    if given is None and isinstance(connection, Request):
        form = await connection.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not sessions.csrf_ok(session, given):
        raise PermissionDeniedException("missing or wrong CSRF token: reload the page and retry")


async def tenant_page(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Tenant keys only (an operator is sent to the operator pages by the handler)."""
    if current_session(connection).principal.tenant_id is None:
        raise OperatorHasNoTenantError


async def operator_page(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Operator keys only."""
    if not current_session(connection).principal.is_operator:
        raise OperatorOnly("this page needs an operator key")


class OperatorHasNoTenantError(Exception):
    """An operator's session asked for a tenant page: sent to the operator pages."""
