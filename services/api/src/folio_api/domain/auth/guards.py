"""Authentication of API keys, and the ``principal`` dependency.

- :func:`require_tenant` (every ``/v1`` route): a valid tenant key, within
  its rate limit. An operator key gets 403 ``forbidden`` here.
- :func:`require_key` (the job routes): any valid key, within its rate
  limit; an operator key acts for every tenant.
- :func:`require_operator` (``/v1/ops`` routes): a valid operator key,
  within its rate limit; a tenant key gets 403 ``forbidden``.
- :class:`AuthMiddleware`: authentication and either check as route
  middleware, which is how the routers use them: Litestar copies the route
  handler for every guard call, which cost ~4 % of the API's CPU on its
  busiest route. :func:`tenant_guard` and :func:`operator_guard` are the
  same checks as Litestar guards.

Failed authentications are limited per client address
(:mod:`folio_api.domain.auth.failures`): an address past the limit is
refused with 429 before its key is looked at.

The resolved :class:`Principal` is put in the connection's state; handlers
receive it by declaring a ``principal`` parameter (see :data:`dependencies`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ASGIApp, Receive, Scope, Send

from folio_api.domain.auth.failures import AuthFailureLimiter
from folio_api.domain.auth.keys import KeyCache, bearer_key
from folio_api.domain.auth.principal import Principal
from folio_api.domain.auth.ratelimit import RateLimiter
from folio_api.resources import get_resources
from folio_shared.errors import Forbidden, Unauthorized

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
    """The process's key cache, rate limiter and failed-authentication limiter."""

    keys: KeyCache
    limiter: RateLimiter
    failures: AuthFailureLimiter


def _authorization(scope: Scope) -> str | None:
    """The ``Authorization`` header, read from the scope (Litestar's
    ``Headers`` would parse every header of the request for it)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


async def _authenticate(scope: Scope) -> Principal:
    """The request's principal: its key resolved, then counted against
    the key's rate limit; kept in the connection state (``scope["state"]``,
    which Litestar's ``request.state`` wraps)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    existing = state.get(PRINCIPAL_KEY)
    if isinstance(existing, Principal):
        return existing
    app_state = scope["litestar_app"].state
    auth: AuthState = app_state[AUTH_STATE_KEY]
    resources = get_resources(app_state)
    assert resources.sessions is not None
    client = scope.get("client")
    address = client[0] if client else "unknown"
    auth.failures.check(address)
    try:
        principal = await auth.keys.resolve(bearer_key(_authorization(scope)), resources.sessions)
    except Unauthorized:
        await auth.failures.failed(resources.redis, address)
        raise
    await auth.limiter.hit(resources.redis, principal.key_id)
    state[PRINCIPAL_KEY] = principal
    return principal


def require_tenant(principal: Principal) -> None:
    """Tenant keys only."""
    if principal.tenant_id is None:
        raise Forbidden("this route needs a tenant API key (an operator key was given)")


def require_key(principal: Principal) -> None:
    """Any valid key: tenant keys act for their tenant, operator keys for all."""


def require_operator(principal: Principal) -> None:
    """Operator keys only."""
    if not principal.is_operator:
        raise Forbidden("this route needs an operator API key")


async def tenant_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Allow tenant keys only (as a Litestar guard)."""
    require_tenant(await _authenticate(connection.scope))


async def operator_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Allow operator keys only (as a Litestar guard)."""
    require_operator(await _authenticate(connection.scope))


class AuthMiddleware(ASGIMiddleware):
    """Authenticates every request of the routes it wraps and runs
    ``require`` (:func:`require_tenant` or :func:`require_operator`) on its
    principal; its errors become problem details like any handler's."""

    def __init__(self, require: Callable[[Principal], None]) -> None:
        self.require = require

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        self.require(await _authenticate(scope))
        await next_app(scope, receive, send)


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = request.state.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise RuntimeError("no principal: the route is missing its auth guard")
    return principal


#: Router dependencies giving handlers ``principal``.
dependencies = {"principal": Provide(provide_principal)}
