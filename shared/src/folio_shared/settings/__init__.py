"""Folio's typed settings, read from ``FOLIO_*`` environment variables.

This package is the only place that reads the environment. Settings are grouped by concern;
each group has its own prefix (``FOLIO_DATABASE_URL``, ``FOLIO_REDIS_URL``, ...).
Defaults are the embedded development stack that ``make dev`` starts, so a fresh
checkout runs without any configuration.

Call :func:`get_settings` (cached) to read them; :func:`reset_settings`
drops the cache (tests and the CLI use it after changing the environment).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from folio_shared.settings._base import DEFAULT_HOME
from folio_shared.settings.service import (
    ApiSettings,
    LogSettings,
    MetricsSettings,
    TelemetrySettings,
    UiSettings,
)
from folio_shared.settings.stores import (
    BrokerSettings,
    DatabaseSettings,
    RedisSettings,
    S3Settings,
    StorageSettings,
)
from folio_shared.settings.webhooks import WebhookSettings
from folio_shared.settings.work import (
    JobSettings,
    OcrSettings,
    PipelineSettings,
    SchedulerSettings,
    UploadSettings,
    WorkerSettings,
)

__all__ = [
    "DEFAULT_HOME",
    "ApiSettings",
    "BrokerSettings",
    "DatabaseSettings",
    "FolioSettings",
    "JobSettings",
    "LogSettings",
    "MetricsSettings",
    "OcrSettings",
    "PipelineSettings",
    "RedisSettings",
    "S3Settings",
    "SchedulerSettings",
    "StorageSettings",
    "TelemetrySettings",
    "UiSettings",
    "UploadSettings",
    "WebhookSettings",
    "WorkerSettings",
    "get_settings",
    "reset_settings",
]


class FolioSettings(BaseSettings):
    """All of Folio's settings. ``FOLIO_ENV`` is ``dev``, ``test`` or ``prod``."""

    model_config = SettingsConfigDict(env_prefix="FOLIO_", extra="ignore", frozen=True)

    env: Literal["dev", "test", "prod"] = "dev"
    home: Path = DEFAULT_HOME
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    upload: UploadSettings = Field(default_factory=UploadSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    ocr: OcrSettings = Field(default_factory=OcrSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> FolioSettings:
        secret = self.storage.signing_secret.get_secret_value()
        if self.env == "prod" and secret.startswith("folio-dev-"):
            raise ValueError("FOLIO_STORAGE_SIGNING_SECRET must be set when FOLIO_ENV=prod")
        return self

    @property
    def broker_url(self) -> str:
        """The broker URL in effect: ``FOLIO_BROKER_URL`` or the Redis URL."""
        return self.broker.url or self.redis.url


@functools.cache
def get_settings() -> FolioSettings:
    """The process's settings, read and validated once."""
    return FolioSettings()


def reset_settings() -> None:
    """Forget the cached settings (after the environment changed)."""
    get_settings.cache_clear()
