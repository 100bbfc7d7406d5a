"""Folio's PostgreSQL layer: engine, models, migrations, repositories.

Importing this package opens nothing: engines are created by
:func:`folio_shared.db.engine.create_engine`, in a service's start-up hook.
"""
