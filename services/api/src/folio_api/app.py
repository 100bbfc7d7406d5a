"""The Litestar application factory.

:func:`create_app` wires settings, the lifespan that opens Redis, the
database engine and the storage (see :mod:`folio_api.resources`), the
problem-details error handlers and the routes. Nothing is opened at import
or by :func:`create_app` itself; OpenAPI is served at ``/schema``.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from folio_api.domain.health.controllers import HealthController
from folio_api.domain.storage.controllers import LocalStorageController
from folio_api.errors import exception_handlers
from folio_api.resources import lifespan
from folio_shared.settings import FolioSettings, get_settings


def create_app(settings: FolioSettings | None = None) -> Litestar:
    """The API for ``settings`` (default: :func:`get_settings`).

    The local storage backend's signed routes are mounted only when
    ``settings.storage.backend`` is ``local``.
    """
    settings = settings or get_settings()
    handlers: list[ControllerRouterHandler] = [HealthController]
    if settings.storage.backend == "local":
        handlers.append(LocalStorageController)
    return Litestar(
        route_handlers=handlers,
        lifespan=[lifespan(settings)],
        exception_handlers=exception_handlers(),
        openapi_config=OpenAPIConfig(title="Folio API", version="0.1.0"),
        debug=False,
    )
