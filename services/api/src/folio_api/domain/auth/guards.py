"""Authentication of API keys, and the ``principal`` dependency.

- :func:`tenant_guard` (every ``/v1`` route): a valid tenant key, within its
  rate limit. An operator key gets 403 ``forbidden`` here.
- :func:`operator_guard` (``/v1/ops`` routes): a valid operator key, within
  its rate limit; a tenant key gets 403 ``forbidden``.
- :class:`AuthMiddleware`: either check as route middleware, which is how
  the routers use them: Litestar copies the route handler for every guard
  call, which cost ~4 % of the API's CPU on its busiest route.

The resolved :class:`Principal` is put in the connection's state; handlers
receive it by declaring a ``principal`` parameter (see :data:`dependencies`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ASGIApp, Receive, Scope, Send

from folio_api.domain.auth.keys import KeyCache, bearer_key
from folio_api.domain.auth.principal import Principal
from folio_api.domain.auth.ratelimit import RateLimiter
from folio_api.resources import get_resources
from folio_shared.errors import Forbidden

#: ``app.state`` key of the :class:`AuthState`.
AUTH_STATE_KEY = "auth"
#: Connection-state key of the resolved principal.
PRINCIPAL_KEY = "principal"
#: Name of the OpenAPI security scheme.
SECURITY_SCHEME = "apiKey"

#: OpenAPI components declaring the bearer scheme.
security_components = Components(
    security_schemes={
        SECURITY_SCHEME: SecurityScheme(
            type="http",
            scheme="bearer",
            description="A Folio API key: `Authorization: Bearer folio_<prefix>_<secret>`",
        )
    }
)
#: OpenAPI requirement for guarded routes.
security_requirement: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]


@dataclass
class AuthState:
    """The process's key cache and rate limiter."""

    keys: KeyCache
    limiter: RateLimiter


async def _authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    existing = connection.state.get(PRINCIPAL_KEY)
    if isinstance(existing, Principal):
        return existing
    key = bearer_key(connection.headers.get("authorization"))
    auth: AuthState = connection.app.state[AUTH_STATE_KEY]
    resources = get_resources(connection.app.state)
    assert resources.sessions is not None
    principal = await auth.keys.resolve(key, resources.sessions)
    await auth.limiter.hit(resources.redis, principal.key_id)
    connection.state[PRINCIPAL_KEY] = principal
    return principal


async def tenant_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Allow tenant keys only."""
    principal = await _authenticate(connection)
    if principal.tenant_id is None:
        raise Forbidden("this route needs a tenant API key (an operator key was given)")


async def operator_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Allow operator keys only."""
    principal = await _authenticate(connection)
    if not principal.is_operator:
        raise Forbidden("this route needs an operator API key")


class AuthMiddleware(ASGIMiddleware):
    """Runs ``check`` (:func:`tenant_guard` or :func:`operator_guard`) on
    every request of the routes it wraps; its errors become problem
    details like any handler's."""

    def __init__(
        self,
        check: Callable[[ASGIConnection[Any, Any, Any, Any], Any], Awaitable[None]],
    ) -> None:
        self.check = check

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        await self.check(ASGIConnection(scope, receive, send), None)
        await next_app(scope, receive, send)


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = request.state.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise RuntimeError("no principal: the route is missing its auth guard")
    return principal


#: Router dependencies giving handlers ``principal``.
dependencies = {"principal": Provide(provide_principal)}
