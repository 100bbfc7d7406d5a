"""The web dashboard at ``/ui``: server-rendered pages (Jinja templates),
a small script for the live parts, sign-in with an API key into a cookie
session. See :mod:`folio_api.ui.router` and docs/dashboard.md."""
