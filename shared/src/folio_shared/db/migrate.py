"""Running Folio's migrations from code (the ``folio migrate`` command, tests,
``make dev``).

The Alembic configuration is built here, pointing at the migration folder
shipped inside this package; no ``alembic.ini`` is needed. The functions are
synchronous. The migration environment drives an async engine with
``asyncio.run``, which cannot run inside a thread that already runs an event
loop, so when called from async code they do the work in a short-lived
helper thread and block until it ends (migrations are a start-up step, not
a request path).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from folio_shared.db.engine import async_database_url
from folio_shared.errors import ConfigurationError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

T = TypeVar("T")


def alembic_config(database_url: str) -> Config:
    """An Alembic :class:`~alembic.config.Config` for Folio's migrations
    against ``database_url`` (any ``postgresql://`` form)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not a main option: a URL's "%" would be taken
    # for configparser interpolation.
    config.attributes["database_url"] = async_database_url(database_url)
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the latest)."""
    _outside_event_loop(lambda: command.upgrade(alembic_config(database_url), revision))


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to ``revision`` (``base``: empty schema)."""
    _outside_event_loop(lambda: command.downgrade(alembic_config(database_url), revision))


def current(database_url: str) -> str | None:
    """The database's current revision, ``None`` when never migrated."""

    def get_revision(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async def read() -> str | None:
        engine = create_async_engine(async_database_url(database_url), poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(get_revision)
        finally:
            await engine.dispose()

    return _outside_event_loop(lambda: asyncio.run(read()))


def head() -> str:
    """The newest revision shipped with this package."""
    revision = ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()
    if revision is None:
        raise ConfigurationError("no migrations found", path=str(MIGRATIONS_DIR))
    return revision


def _outside_event_loop(fn: Callable[[], T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(fn())
        except BaseException as e:
            failure.append(e)

    thread = threading.Thread(target=run, name="folio-migrate")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
