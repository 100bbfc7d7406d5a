"""Folio's HTTP API (Litestar): build it with :func:`folio_api.app.create_app`."""
