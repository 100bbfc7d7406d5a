"""Settings of the services' surfaces: metrics, traces, the API, logs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from folio_shared.settings._base import _group


class MetricsSettings(BaseSettings):
    """Prometheus metrics of the API and the workers, each on its own port.

    - ``FOLIO_METRICS_PORT``: port of a pod's metrics endpoint (default 9191; 0: off).
    """

    model_config = _group("FOLIO_METRICS_")

    port: int = Field(default=9191, ge=0, le=65535)


class TelemetrySettings(BaseSettings):
    """OpenTelemetry traces.

    - ``FOLIO_TELEMETRY_EXPORTER``: ``none`` (default), ``console`` or ``otlp``.
    - ``FOLIO_TELEMETRY_OTLP_ENDPOINT``: the OTLP/HTTP collector (default:
      the exporter's own, ``http://localhost:4318``).
    """

    model_config = _group("FOLIO_TELEMETRY_")

    exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str = ""


class ApiSettings(BaseSettings):
    """The HTTP API.

    - ``FOLIO_API_HOST`` (default 127.0.0.1), ``FOLIO_API_PORT`` (default 8000).
    - ``FOLIO_API_RATE_LIMIT_PER_MINUTE``: requests per key (default 600).
    - ``FOLIO_API_AUTH_FAILURES_PER_MINUTE``: failed authentications per address (default 30).
    - ``FOLIO_API_SSE_STREAMS_PER_KEY`` / ``_PER_PROCESS``: open event streams of one key and
      of one API process (defaults 20 and 1000); past them, ``429`` with ``Retry-After``.
      ``FOLIO_API_SSE_MAX_DURATION_S``: a stream then ends (default 900; clients reconnect).
    - ``FOLIO_API_REDIS_MAX_CONNECTIONS``: the API process's Redis pool (default 50).
    """

    model_config = _group("FOLIO_API_")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    rate_limit_per_minute: int = Field(default=600, ge=1)
    auth_failures_per_minute: int = Field(default=30, ge=1)
    sse_streams_per_key: int = Field(default=20, ge=1)
    sse_streams_per_process: int = Field(default=1_000, ge=1)
    sse_max_duration_s: float = Field(default=900.0, gt=0)
    redis_max_connections: int = Field(default=50, ge=2)


class LogSettings(BaseSettings):
    """Logging.

    - ``FOLIO_LOG_LEVEL`` (default INFO), ``FOLIO_LOG_FORMAT``: ``json``
      (default) or ``console`` (readable, used by ``make dev``).
    """

    model_config = _group("FOLIO_LOG_")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "console"] = "json"


class UiSettings(BaseSettings):
    """The web dashboard at ``/ui``.

    - ``FOLIO_UI_SESSION_TTL_S``: how long a dashboard session lasts after
      sign-in, in seconds (default 28800, 8 hours: a working day; at least 1,
      at most 30 days). The cookie's ``Max-Age`` and the session's Redis TTL
      are both this; a session also ends at sign-out or when its key is revoked.
    """

    model_config = _group("FOLIO_UI_")

    session_ttl_s: int = Field(default=8 * 3600, ge=1, le=30 * 86_400)
