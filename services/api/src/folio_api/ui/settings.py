"""The dashboard's settings (``FOLIO_UI_*``), kept with the package that
reads them: the shared settings module is the kernel's, for settings
several services need.

- ``FOLIO_UI_SESSION_TTL_S``: how long a dashboard session lasts after
  sign-in, in seconds (default 28800, 8 hours: a working day; at least 1,
  at most 30 days). The cookie's ``Max-Age`` and the session's Redis TTL
  are both this; a session also ends at sign-out or when its key is revoked.

Read once by :func:`folio_api.app.create_app` (validated at start-up) and
kept in the app's state under :data:`UI_SETTINGS_KEY`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: App-state key of the :class:`UiSettings` in effect.
UI_SETTINGS_KEY = "ui_settings"


class UiSettings(BaseSettings):
    """The dashboard (see the module's docstring for each variable)."""

    model_config = SettingsConfigDict(env_prefix="FOLIO_UI_", extra="ignore", frozen=True)

    session_ttl_s: int = Field(default=8 * 3600, ge=1, le=30 * 86_400)
