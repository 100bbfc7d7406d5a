"""Where the dashboard keeps its settings in the app's state.

The settings themselves (``FOLIO_UI_*``, :class:`~folio_shared.settings.UiSettings`)
are read with every other setting; :func:`folio_api.app.create_app` keeps the
ones in effect in the app's state under :data:`UI_SETTINGS_KEY`.
"""

from __future__ import annotations

from folio_shared.settings import UiSettings

__all__ = ["UI_SETTINGS_KEY", "UiSettings"]

#: App-state key of the :class:`UiSettings` in effect.
UI_SETTINGS_KEY = "ui_settings"
