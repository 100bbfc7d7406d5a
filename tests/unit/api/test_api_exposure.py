"""The API refuses the public development signing secret beyond loopback
(anyone could sign upload URLs of the local backend, whose upload route
needs no API key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from folio_api.app import create_app
from folio_shared.errors import ConfigurationError
from folio_shared.settings import ApiSettings, FolioSettings, StorageSettings


def settings(
    tmp_path: Path, host: str, *, secret: str | None = None, backend: str = "local"
) -> FolioSettings:
    chosen = {} if secret is None else {"signing_secret": secret}
    storage = StorageSettings(backend=backend, local_root=tmp_path / "store", **chosen)  # type: ignore[arg-type]
    return FolioSettings(env="dev", home=tmp_path, storage=storage, api=ApiSettings(host=host))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "folio.example.org"])
def test_the_default_secret_is_refused_beyond_loopback(tmp_path: Path, host: str) -> None:
    with pytest.raises(ConfigurationError, match="FOLIO_STORAGE_SIGNING_SECRET"):
        create_app(settings(tmp_path, host))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.5", "::1", "localhost"])
def test_the_default_secret_is_accepted_on_loopback(tmp_path: Path, host: str) -> None:
    assert create_app(settings(tmp_path, host)) is not None


def test_a_secret_of_its_own_may_listen_anywhere(tmp_path: Path) -> None:
    assert create_app(settings(tmp_path, "0.0.0.0", secret="9f2c41d7e0b8a6c5" * 4)) is not None


def test_with_s3_the_secret_signs_nothing(tmp_path: Path) -> None:
    assert create_app(settings(tmp_path, "0.0.0.0", backend="s3")) is not None
