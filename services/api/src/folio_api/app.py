"""The Litestar application factory.

:func:`create_app` wires settings, the lifespan that opens Redis, the
database engine, the storage and the broker (see :mod:`folio_api.resources`),
the problem-details error handlers and the routes. Nothing is opened at
import or by :func:`create_app` itself; OpenAPI is served at ``/schema``.

Routes:

- ``/ui``: the web dashboard (:mod:`folio_api.ui`), signed in with an API
  key into a cookie session;
- ``/healthz``, ``/readyz`` (no authentication) and, for local storage,
  the signed ``/storage/*`` routes (metrics are not here: ``folio-api``
  serves them on a port of their own, :mod:`folio_api.domain.metrics.server`);
- ``/v1/...``: the public API, every route behind a tenant API key
  (:func:`~folio_api.domain.auth.guards.require_tenant`) and its rate limit;
  every ``POST`` there takes an ``Idempotency-Key``
  (:mod:`folio_api.domain.idempotency.middleware`).
  Domains add their controller to :data:`V1_HANDLERS` (search goes there);
  the job routes (:data:`V1_JOB_HANDLERS`) take operator keys too
  (:func:`~folio_api.domain.auth.guards.require_key`), which see every tenant;
  operator routes go on a router guarded by
  :func:`~folio_api.domain.auth.guards.require_operator` under ``/v1/ops``.
"""

from __future__ import annotations

from collections.abc import Callable

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from folio_api.body import FolioRequest
from folio_api.domain.auth.failures import AuthFailureLimiter
from folio_api.domain.auth.guards import (
    AUTH_STATE_KEY,
    AuthMiddleware,
    AuthState,
    dependencies,
    require_key,
    require_tenant,
    security_components,
    security_requirement,
)
from folio_api.domain.auth.keys import KeyCache
from folio_api.domain.auth.principal import Principal
from folio_api.domain.auth.ratelimit import RateLimiter
from folio_api.domain.batches.controllers import BatchesController
from folio_api.domain.documents.controllers import DocumentsController
from folio_api.domain.fields.controllers import FieldsController
from folio_api.domain.health.controllers import HealthController
from folio_api.domain.idempotency.middleware import IdempotencyMiddleware
from folio_api.domain.idempotency.openapi import declare_idempotency_key
from folio_api.domain.jobs.controllers import SSE_HEARTBEAT_KEY, JobsController
from folio_api.domain.keys.controllers import KeysController
from folio_api.domain.kinds.controllers import JobTypesController
from folio_api.domain.metrics.middleware import HttpMetricsMiddleware
from folio_api.domain.ops.controllers import ops_router
from folio_api.domain.search.controllers import SearchController
from folio_api.domain.storage.controllers import LocalStorageController
from folio_api.domain.uploads.controllers import UploadsController
from folio_api.domain.webhooks.controllers import WebhooksController
from folio_api.errors import exception_handlers
from folio_api.exposure import check_exposure
from folio_api.headers import SecurityHeaders
from folio_api.resources import lifespan
from folio_api.ui.pageimage import PAGE_IMAGES
from folio_api.ui.router import template_config, ui_router
from folio_api.ui.settings import UI_SETTINGS_KEY, UiSettings
from folio_shared.settings import FolioSettings, get_settings

#: The tenant-key routes under ``/v1``.
V1_HANDLERS: list[ControllerRouterHandler] = [
    DocumentsController,
    FieldsController,
    UploadsController,
    SearchController,
    KeysController,
    WebhooksController,
]
#: The job routes under ``/v1``: tenant or operator keys.
V1_JOB_HANDLERS: list[ControllerRouterHandler] = [
    JobsController,
    JobTypesController,
    BatchesController,
]


def _v1(handlers: list[ControllerRouterHandler], require: Callable[[Principal], None]) -> Router:
    return Router(
        "/v1",
        route_handlers=list(handlers),
        middleware=[AuthMiddleware(require), IdempotencyMiddleware()],
        dependencies=dependencies,
        security=security_requirement,
    )


def v1_router() -> Router:
    """``/v1``: every route needs a tenant key (and counts against its rate limit)."""
    return _v1(V1_HANDLERS, require_tenant)


def v1_jobs_router() -> Router:
    """``/v1`` job routes: a tenant key (its tenant) or an operator key (all)."""
    return _v1(V1_JOB_HANDLERS, require_key)


def create_app(
    settings: FolioSettings | None = None,
    *,
    key_cache_ttl_s: float = 30.0,
    sse_heartbeat_s: float = 15.0,
    relay_interval_s: float = 2.0,
    ui_settings: UiSettings | None = None,
) -> Litestar:
    """The API for ``settings`` (default: :func:`get_settings`).

    - ``key_cache_ttl_s``: how long a resolved API key is trusted without
      asking the database (default 30 s; a revoked key works at most this
      long; see :mod:`folio_api.domain.auth.keys`).
    - ``sse_heartbeat_s``: idle time between SSE heartbeat comments (default 15 s).
    - ``relay_interval_s``: period of the outbox relay loop (default 2 s).
    - ``ui_settings``: the dashboard's (default: ``settings.ui``, ``FOLIO_UI_*``).

    The local storage backend's signed routes are mounted only when
    ``settings.storage.backend`` is ``local``. Settings that would expose
    the development signing secret beyond loopback are refused
    (:mod:`folio_api.exposure`).
    """
    settings = settings or get_settings()
    check_exposure(settings)
    handlers: list[ControllerRouterHandler] = [
        HealthController,
        v1_router(),
        v1_jobs_router(),
        ops_router(),
        ui_router(),
    ]
    if settings.storage.backend == "local":
        handlers.append(LocalStorageController)
    state = State(
        {
            AUTH_STATE_KEY: AuthState(
                keys=KeyCache(ttl_s=key_cache_ttl_s),
                limiter=RateLimiter(settings.api.rate_limit_per_minute),
                failures=AuthFailureLimiter(
                    settings.api.auth_failures_per_minute, settings.broker.namespace
                ),
            ),
            SSE_HEARTBEAT_KEY: sse_heartbeat_s,
            UI_SETTINGS_KEY: ui_settings or settings.ui,
        }
    )
    app = Litestar(
        route_handlers=handlers,
        lifespan=[lifespan(settings, relay_interval_s=relay_interval_s)],
        on_shutdown=[PAGE_IMAGES.close],
        exception_handlers=exception_handlers(),
        middleware=[HttpMetricsMiddleware(), SecurityHeaders()],
        request_class=FolioRequest,
        template_config=template_config(),
        openapi_config=OpenAPIConfig(
            title="Folio API",
            version="0.1.0",
            description=(
                "Upload documents, follow their processing jobs live, read their text; run "
                "jobs of the kinds your workers declare, alone or in batches. "
                "Every `/v1` route needs `Authorization: Bearer <API key>`; every error is "
                "`application/problem+json` with a stable `code`."
            ),
            components=[security_components],
        ),
        state=state,
        debug=False,
    )
    return declare_idempotency_key(app)
