"""Settings of the stores: PostgreSQL, Redis, the broker and object storage."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from folio_shared.settings._base import DEFAULT_HOME, _group


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
    - ``FOLIO_S3_PUBLIC_ENDPOINT_URL``: the endpoint presigned URLs name, as
      their clients reach it (default empty: ``FOLIO_S3_ENDPOINT_URL``).
      Compose sets ``http://localhost:9000`` while its services use
      ``http://minio:9000``.
    """

    model_config = _group("FOLIO_S3_")

    bucket: str = "folio"
    region: str = "us-east-1"
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: SecretStr = SecretStr("")
    create_bucket: bool = False
    public_endpoint_url: str = ""
