"""Where ``folio login`` keeps the API's URL and key.

``config.json`` in the user's config directory for ``folio``
(:func:`typer.get_app_dir`: ``$XDG_CONFIG_HOME/folio``, by default
``~/.config/folio`` on Linux), mode 0600 in a directory of mode 0700.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import typer

from folio_cli.errors import fail


@dataclass(frozen=True)
class Login:
    """The API's ``url`` and a tenant ``api_key``."""

    url: str
    api_key: str


def config_path() -> Path:
    return Path(typer.get_app_dir("folio")) / "config.json"


def save(login: Login) -> Path:
    """Write ``login`` readable by its owner only; the file's path."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"url": login.url, "api_key": login.api_key}, out)
    path.chmod(0o600)  # an older file may have had wider rights
    return path


def load() -> Login:
    """The saved login; exit 2 when there is none."""
    path = config_path()
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if not stored.get("url") or not stored.get("api_key"):
        fail("not logged in: run `folio login URL`", 2)
    return Login(stored["url"], stored["api_key"])
