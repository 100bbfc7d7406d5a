"""Settings: read from FOLIO_* variables, validated, with embedded defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from folio_shared.settings import FolioSettings, get_settings, reset_settings


def test_defaults_are_the_embedded_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "FOLIO_DATABASE_URL",
        "FOLIO_REDIS_URL",
        "FOLIO_BROKER_URL",
        "FOLIO_STORAGE_BACKEND",
    ):
        monkeypatch.delenv(var, raising=False)
    settings = FolioSettings()
    assert settings.database.url == "postgresql+asyncpg://postgres@127.0.0.1:5433/folio"
    assert settings.redis.url == "redis://127.0.0.1:6380/0"
    assert settings.broker_url == settings.redis.url
    assert settings.storage.backend == "local"
    assert settings.jobs.max_retries == 3
    assert settings.upload.max_bytes == 50 * 1024 * 1024
    assert "pdf" in settings.upload.allowed
    assert "docx" in settings.upload.allowed


def test_groups_read_their_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLIO_DATABASE_URL", "postgresql://u@db:5432/x")
    monkeypatch.setenv("FOLIO_BROKER_URL", "amqp://guest:guest@mq:5672/")
    monkeypatch.setenv("FOLIO_JOBS_MAX_RETRIES", "5")
    monkeypatch.setenv("FOLIO_UPLOAD_ALLOWED_TYPES", "pdf, png")
    settings = FolioSettings()
    # a plain postgresql:// URL is turned into the asyncpg dialect
    assert settings.database.url == "postgresql+asyncpg://u@db:5432/x"
    assert settings.broker_url == "amqp://guest:guest@mq:5672/"
    assert settings.jobs.max_retries == 5
    assert settings.upload.allowed == frozenset({"pdf", "png"})


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("FOLIO_DATABASE_URL", "mysql://db/x"),
        ("FOLIO_REDIS_URL", "http://cache"),
        ("FOLIO_BROKER_URL", "kafka://k:9092"),
        ("FOLIO_STORAGE_BACKEND", "ftp"),
        ("FOLIO_UPLOAD_PRESIGN_EXPIRY_S", "3600"),
        ("FOLIO_JOBS_MAX_RETRIES", "-1"),
        ("FOLIO_API_PORT", "70000"),
    ],
)
def test_invalid_values_fail_at_start_up(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError):
        FolioSettings()


def test_production_requires_a_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLIO_ENV", "prod")
    monkeypatch.delenv("FOLIO_STORAGE_SIGNING_SECRET", raising=False)
    with pytest.raises(ValidationError, match="SIGNING_SECRET"):
        FolioSettings()
    monkeypatch.setenv("FOLIO_STORAGE_SIGNING_SECRET", "a-real-secret-of-enough-length")
    assert FolioSettings().env == "prod"


def test_get_settings_is_cached_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    reset_settings()
    monkeypatch.setenv("FOLIO_API_PORT", "8123")
    first = get_settings()
    monkeypatch.setenv("FOLIO_API_PORT", "8124")
    assert get_settings() is first
    reset_settings()
    assert get_settings().api.port == 8124
    reset_settings()
