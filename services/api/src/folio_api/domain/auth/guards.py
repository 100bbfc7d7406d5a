"""Litestar guards and the ``principal`` dependency.

- :func:`tenant_guard` (every ``/v1`` route): a valid tenant key, within its
  rate limit. An operator key gets 403 ``forbidden`` here.
- :func:`operator_guard` (``/v1/ops`` routes): a valid operator key, within
  its rate limit; a tenant key gets 403 ``forbidden``.

The resolved :class:`Principal` is put in the connection's state; handlers
receive it by declaring a ``principal`` parameter (see :data:`dependencies`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Components, SecurityScheme

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


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = request.state.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise RuntimeError("no principal: the route is missing its auth guard")
    return principal


#: Router dependencies giving handlers ``principal``.
dependencies = {"principal": Provide(provide_principal)}
