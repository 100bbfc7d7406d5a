"""Alembic migrations of Folio's schema; run them with :mod:`folio_shared.db.migrate`."""
