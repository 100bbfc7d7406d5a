"""Folio's typed settings, read from ``FOLIO_*`` environment variables.

This is the only module that reads the environment. Settings are grouped by concern;
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

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Folder for the embedded stack's data (git-ignored): ``.folio`` in the
#: current directory unless ``FOLIO_HOME`` says otherwise.
DEFAULT_HOME = Path(".folio")


def _group(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", frozen=True)


class DatabaseSettings(BaseSettings):
    """PostgreSQL (with pgvector), the source of truth.

    - ``FOLIO_DATABASE_URL``: SQLAlchemy URL, ``postgresql+asyncpg://...``.
      Default: the embedded server of ``make dev`` on 127.0.0.1:5433.
    - ``FOLIO_DATABASE_POOL_SIZE``: sizes each process's pools (default 5):
      a pool opens connections as the load needs them, up to twice this
      many, and keeps them.
    - ``FOLIO_DATABASE_ECHO``: log every statement (default false).
    """

    model_config = _group("FOLIO_DATABASE_")

    url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/folio"
    pool_size: int = Field(default=5, ge=1, le=100)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, v: str) -> str:
        if not v.startswith(("postgresql://", "postgresql+asyncpg://", "postgres://")):
            raise ValueError("FOLIO_DATABASE_URL must be a postgresql:// URL")
        if v.startswith("postgres://"):
            v = "postgresql://" + v.removeprefix("postgres://")
        if v.startswith("postgresql://"):
            v = "postgresql+asyncpg://" + v.removeprefix("postgresql://")
        return v


class RedisSettings(BaseSettings):
    """Redis: queues (by default), progress event streams, short-lived state.

    - ``FOLIO_REDIS_URL``: ``redis://host:port/db`` (default: the embedded
      server of ``make dev`` on 127.0.0.1:6380, database 0).
    """

    model_config = _group("FOLIO_REDIS_")

    url: str = "redis://127.0.0.1:6380/0"

    @field_validator("url")
    @classmethod
    def _redis_only(cls, v: str) -> str:
        if not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("FOLIO_REDIS_URL must be a redis:// URL")
        return v


class BrokerSettings(BaseSettings):
    """The Dramatiq broker.

    - ``FOLIO_BROKER_URL``: ``redis://...`` or ``amqp://...``; empty (the
      default) means the Redis of ``FOLIO_REDIS_URL``.
    - ``FOLIO_BROKER_NAMESPACE``: Redis key namespace for queues
      (default ``folio``), so several stacks can share one Redis.
    - ``FOLIO_BROKER_HEARTBEAT_TIMEOUT_MS``: after how long without a heartbeat
      a Redis worker's unacked messages are requeued (default 60000, Dramatiq's).
    """

    model_config = _group("FOLIO_BROKER_")

    url: str = ""
    namespace: str = "folio"
    heartbeat_timeout_ms: int = Field(default=60_000, ge=1_000)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if v and not v.startswith(("redis://", "rediss://", "unix://", "amqp://", "amqps://")):
            raise ValueError("FOLIO_BROKER_URL must be a redis:// or amqp:// URL")
        return v


class StorageSettings(BaseSettings):
    """Object storage for uploaded files.

    - ``FOLIO_STORAGE_BACKEND``: ``local`` (default) or ``s3``.
    - ``FOLIO_STORAGE_LOCAL_ROOT``: folder of the local backend (default ``.folio/storage``).
    - ``FOLIO_STORAGE_SIGNING_SECRET``: HMAC key of the local backend's
      signed URLs; every API replica must share it (default: a fixed
      development value, refused in prod and beyond loopback: set it).
    - ``FOLIO_STORAGE_PUBLIC_BASE_URL``: where the API is reached, for the
      local backend's signed URLs (default ``http://127.0.0.1:8000``).
    - ``FOLIO_S3_*`` (see :class:`S3Settings`) when the backend is ``s3``.
    """

    model_config = _group("FOLIO_STORAGE_")

    backend: Literal["local", "s3"] = "local"
    local_root: Path = DEFAULT_HOME / "storage"
    signing_secret: SecretStr = SecretStr("folio-dev-signing-secret-change-me")
    public_base_url: str = "http://127.0.0.1:8000"


class S3Settings(BaseSettings):
    """S3-compatible object storage (AWS, MinIO, Ceph, ...).

    - ``FOLIO_S3_BUCKET`` (default ``folio``), ``FOLIO_S3_REGION`` (default
      ``us-east-1``), ``FOLIO_S3_ENDPOINT_URL`` (empty: AWS), ``FOLIO_S3_ACCESS_KEY_ID`` /
      ``FOLIO_S3_SECRET_ACCESS_KEY`` (empty: the default credential chain),
      ``FOLIO_S3_CREATE_BUCKET`` (create the bucket at start-up when missing; default false).
    """

    model_config = _group("FOLIO_S3_")

    bucket: str = "folio"
    region: str = "us-east-1"
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: SecretStr = SecretStr("")
    create_bucket: bool = False


class UploadSettings(BaseSettings):
    """What the API accepts.

    - ``FOLIO_UPLOAD_MAX_BYTES``: largest accepted file (default 50 MiB).
    - ``FOLIO_UPLOAD_ALLOWED_TYPES``: comma-separated allow-list of kinds
      (default all: pdf, png, jpeg, tiff, webp, text, markdown, html, docx).
    - ``FOLIO_UPLOAD_PRESIGN_EXPIRY_S``: lifetime of a presigned upload, at most 900 (default 900).
    - ``FOLIO_UPLOAD_ABANDONED_AFTER_S``: an upload never completed is cleaned up (default 86400).
    """

    model_config = _group("FOLIO_UPLOAD_")

    max_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    allowed_types: str = "pdf,png,jpeg,tiff,webp,text,markdown,html,docx"
    presign_expiry_s: int = Field(default=900, ge=10, le=900)
    abandoned_after_s: int = Field(default=86_400, ge=60)

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.allowed_types.split(",") if t.strip())


class JobSettings(BaseSettings):
    """The job engine.

    - ``FOLIO_JOBS_MAX_RETRIES``: retries after the first attempt (default 3).
    - ``FOLIO_JOBS_MIN_BACKOFF_MS`` / ``FOLIO_JOBS_MAX_BACKOFF_MS``:
      exponential backoff bounds (defaults 1000 and 300000).
    - ``FOLIO_JOBS_DOCUMENT_TIME_LIMIT_MS``: per attempt for document jobs (default 30 min).
      ``FOLIO_JOBS_OCR_TIME_LIMIT_MS``: per OCR page (default 5 min).
    - ``FOLIO_JOBS_LEASE_MS``: a running job's lease, renewed by its worker (default 30000).
    - ``FOLIO_JOBS_RETENTION_DAYS``: finished job history kept (default 7).
    - ``FOLIO_JOBS_RECONCILE_INTERVAL_MS``: how often one worker of the
      cluster runs the reconciler (default 10000).
    - ``FOLIO_JOBS_LOST_AFTER_MS``: a queued job whose message has been
      missing from Redis this long is sent again (default 15000).
    """

    model_config = _group("FOLIO_JOBS_")

    max_retries: int = Field(default=3, ge=0, le=100)
    min_backoff_ms: int = Field(default=1_000, ge=0)
    max_backoff_ms: int = Field(default=300_000, ge=0)
    document_time_limit_ms: int = Field(default=30 * 60 * 1000, ge=1_000)
    ocr_time_limit_ms: int = Field(default=5 * 60 * 1000, ge=1_000)
    lease_ms: int = Field(default=30_000, ge=1_000)
    retention_days: int = Field(default=7, ge=1)
    reconcile_interval_ms: int = Field(default=10_000, ge=100)
    lost_after_ms: int = Field(default=15_000, ge=100)


class OcrSettings(BaseSettings):
    """OCR (worker-ocr).

    - ``FOLIO_OCR_LANGUAGES``: Tesseract languages (default ``eng+por``).
    - ``FOLIO_OCR_DPI``: rendering resolution of PDF pages (default 300).
    - ``FOLIO_OCR_MAX_PIXELS``: largest image accepted (default 100 Mpx).
    """

    model_config = _group("FOLIO_OCR_")

    languages: str = "eng+por"
    dpi: int = Field(default=300, ge=50, le=1200)
    max_pixels: int = Field(default=100_000_000, ge=1)


class PipelineSettings(BaseSettings):
    """The document pipeline (worker-docs), and where large documents go.

    - ``FOLIO_PIPELINE_LARGE_DOCUMENT_BYTES``: files this large or larger are
      processed on the ``documents-large`` queue (default 20 MiB); the API
      routes them at queuing time.
    - ``FOLIO_PIPELINE_LARGE_DOCUMENT_PAGES``: documents with this many pages or
      more (known once extracted) send their OCR pages at ``low`` priority, so the
      pages of small documents sent later are read first, and their final step
      (chunking, embedding) to ``documents-large`` (default 100).
    - ``FOLIO_PIPELINE_MAX_DOCUMENT_PAGES``: most pages per document (default
      2000), ``FOLIO_PIPELINE_TENANT_MAX_DOCUMENT_PAGES``: JSON {tenant id: pages}.
    - ``FOLIO_PIPELINE_QUERY_RUNTIME``: queries on ``onnx`` (default; checked to give
      torch's vectors, else falls back) or ``torch``; ``FOLIO_PIPELINE_DOCUMENT_RUNTIME``:
      chunks in ``bf16`` (default, checked likewise), ``onnx`` or ``torch`` (pipeline.md).
    - ``FOLIO_PIPELINE_QUERY_THREADS``: ONNX Runtime threads (default 2).
    - ``FOLIO_PIPELINE_WARM_UP``: load the embedding model (and query encoder) at
      start-up, not on the first document or query (default true: it takes seconds).
    - ``FOLIO_PIPELINE_MODEL_CACHE_DIR``: the ONNX export's folder (default ``~/.cache/folio``).
    - ``FOLIO_PIPELINE_EMBEDDING_MODEL``: ``all-MiniLM-L6-v2`` or multilingual (operations.md).
    """

    model_config = _group("FOLIO_PIPELINE_")

    large_document_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    large_document_pages: int = Field(default=100, ge=1)
    max_document_pages: int = Field(default=2_000, ge=1)
    tenant_max_document_pages: dict[str, int] = Field(default_factory=dict)
    query_runtime: Literal["onnx", "torch"] = "onnx"
    document_runtime: Literal["bf16", "onnx", "torch"] = "bf16"
    query_threads: int = Field(default=2, ge=1, le=64)
    warm_up: bool = True
    model_cache_dir: Path | None = None
    embedding_model: str = "all-MiniLM-L6-v2"


class WorkerSettings(BaseSettings):
    """Worker processes (worker-docs, worker-ocr).

    - ``FOLIO_WORKER_PROCESSES``: worker processes per container (default 1;
      scale with replicas first).
    - ``FOLIO_WORKER_THREADS``: threads per process (default 4).
    - ``FOLIO_WORKER_SHUTDOWN_TIMEOUT_MS``: on SIGTERM, how long running jobs
      may finish before they are handed back (default 60000; the Kubernetes
      ``terminationGracePeriodSeconds`` must be longer).
    - ``FOLIO_WORKER_QUEUES``: comma-separated queues to consume instead of
      the service's own (default: empty, the service's own).
    """

    model_config = _group("FOLIO_WORKER_")

    processes: int = Field(default=1, ge=1, le=64)
    threads: int = Field(default=4, ge=1, le=256)
    shutdown_timeout_ms: int = Field(default=60_000, ge=1_000)
    queues: str = ""


class SchedulerSettings(BaseSettings):
    """When the scheduler sends each maintenance task (cron syntax, UTC).

    - ``FOLIO_SCHEDULER_EXPIRE_UPLOADS_CRON`` (default ``0 * * * *``, hourly)
    - ``FOLIO_SCHEDULER_PURGE_JOB_HISTORY_CRON`` (default ``30 3 * * *``, daily)
    - ``FOLIO_SCHEDULER_FIND_ORPHANS_CRON`` (default ``15 4 * * *``, daily)
    - ``FOLIO_SCHEDULER_REAP_STUCK_JOBS_CRON`` (default ``* * * * *``)
    - ``FOLIO_SCHEDULER_RELAY_OUTBOX_CRON`` (default ``* * * * *``)
    - ``FOLIO_SCHEDULER_APPLY_DOCUMENT_RETENTION_CRON`` (default ``45 4 * * *``)
    - ``FOLIO_SCHEDULER_TICK_LOCK_TTL_S``: how long a sent tick is remembered,
      so a second scheduler replica does not send it again (default 86400).
    - ``FOLIO_SCHEDULER_CATCH_UP_RETRY_S``: period of missed ticks' catch-up tries (default 10).
    - ``FOLIO_SCHEDULER_JOBS``: periodic jobs of your kinds, JSON (``folio_scheduler.userjobs``).
    """

    model_config = _group("FOLIO_SCHEDULER_")

    expire_uploads_cron: str = "0 * * * *"
    purge_job_history_cron: str = "30 3 * * *"
    find_orphans_cron: str = "15 4 * * *"
    reap_stuck_jobs_cron: str = "* * * * *"
    relay_outbox_cron: str = "* * * * *"
    apply_document_retention_cron: str = "45 4 * * *"
    tick_lock_ttl_s: int = Field(default=86_400, ge=60)
    catch_up_retry_s: float = Field(default=10.0, gt=0)
    jobs: str = ""


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
