"""What every settings group shares: the prefix helper and the home folder."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

#: Folder for the embedded stack's data (git-ignored): ``.folio`` in the
#: current directory unless ``FOLIO_HOME`` says otherwise.
DEFAULT_HOME = Path(".folio")


def _group(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", frozen=True)
