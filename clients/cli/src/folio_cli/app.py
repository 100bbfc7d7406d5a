"""The ``folio`` command line.

Each concern is a Typer group registered on :data:`app` with one
``app.add_typer(group, name=...)`` line at the bottom of this module; a new
group lives in its own module and is added there the same way. Commands
read the database URL from Folio's settings (``FOLIO_DATABASE_URL``).

Exit codes: 0 success, 1 the request was refused (invalid input, name
taken, ...), 2 a dependency (PostgreSQL) could not be reached or failed.
Commands that create a key print it alone on their last line, so scripts
can take it with ``| tail -n 1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from folio_cli import ops as cli_ops
from folio_cli.maintenance import maintenance_app
from folio_cli.worker import worker_app
from folio_shared.db import migrate as migrations
from folio_shared.db.engine import create_engine, create_session_factory
from folio_shared.db.repositories import api_keys, tenants
from folio_shared.errors import FolioError
from folio_shared.security import parse_api_key
from folio_shared.settings import get_settings

T = TypeVar("T")

#: Who the audit log says acted, for changes made from the command line.
CLI_ACTOR = "cli"

app = typer.Typer(
    name="folio",
    help="Folio: asynchronous document processing. Operate a deployment.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold keys and URLs
)
migrate_app = typer.Typer(help="Migrate the database schema (default: up to the latest).")
tenants_app = typer.Typer(help="Create and list tenants.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


# --- helpers ---------------------------------------------------------------------


def _database_url() -> str:
    return get_settings().database.url


def _shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def _clean_errors() -> Iterator[None]:
    """Turn expected failures into one readable line on stderr and an exit code."""
    try:
        yield
    except FolioError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    except ProgrammingError as e:
        typer.echo(f"error: database schema problem ({e.orig}); has `folio migrate` run?", err=True)
        raise typer.Exit(2) from e
    except (OSError, DBAPIError) as e:
        cause = e.orig if isinstance(e, DBAPIError) else e
        typer.echo(f"error: PostgreSQL at {_shown_url(_database_url())} failed: {cause}", err=True)
        raise typer.Exit(2) from e


def _in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on a short-lived engine."""

    async def run() -> T:
        engine = create_engine(get_settings())
        try:
            async with create_session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    with _clean_errors():
        return asyncio.run(run())


def _echo_key(key_id: uuid.UUID | None, key: str) -> None:
    if key_id is not None:
        typer.echo(f"key id:     {key_id}")
    typer.echo(f"key prefix: {parse_api_key(key)}")
    typer.echo("API key (shown once; store it now):")
    typer.echo(key)


# --- migrate -----------------------------------------------------------------------


@migrate_app.callback(invoke_without_command=True)
def migrate(
    ctx: typer.Context,
    revision: str = typer.Option("head", "--revision", "-r", help="Target revision."),
) -> None:
    """Migrate the database up to REVISION (default: the latest)."""
    if ctx.invoked_subcommand is not None:
        return
    url = _database_url()
    with _clean_errors():
        migrations.upgrade(url, revision)
        typer.echo(f"{_shown_url(url)} is at revision {migrations.current(url)}")


@migrate_app.command("down")
def migrate_down(
    revision: str = typer.Argument(..., help="Target revision; `base` drops everything."),
) -> None:
    """Migrate the database down to REVISION."""
    url = _database_url()
    with _clean_errors():
        migrations.downgrade(url, revision)
        typer.echo(f"{_shown_url(url)} is at revision {migrations.current(url) or 'base'}")


@migrate_app.command("current")
def migrate_current() -> None:
    """Print the database's revision and the newest one available."""
    url = _database_url()
    with _clean_errors():
        typer.echo(f"current: {migrations.current(url) or 'base'}")
        typer.echo(f"head:    {migrations.head()}")


# --- tenants -----------------------------------------------------------------------


@tenants_app.command("create")
def tenants_create(
    name: str = typer.Argument(..., help="Unique tenant name."),
    retention_days: int | None = typer.Option(
        None, "--retention-days", min=1, help="Purge documents older than this (default: never)."
    ),
) -> None:
    """Create a tenant and its first API key (printed alone on the last line)."""
    tenant, key = _in_session(
        lambda s: tenants.create_tenant(
            s, name, document_retention_days=retention_days, actor=CLI_ACTOR
        )
    )
    typer.echo(f"tenant id:  {tenant.id}")
    typer.echo(f"name:       {tenant.name}")
    _echo_key(None, key)


@tenants_app.command("list")
def tenants_list() -> None:
    """List tenants."""
    rows = _in_session(tenants.list_tenants)
    typer.echo(f"{'ID':36}  {'CREATED':25}  {'RETENTION':9}  NAME")
    for t in rows:
        retention = "-" if t.document_retention_days is None else f"{t.document_retention_days}d"
        typer.echo(
            f"{t.id!s:36}  {t.created_at.isoformat(timespec='seconds'):25}  {retention:9}  {t.name}"
        )


# --- keys --------------------------------------------------------------------------


@keys_app.command("create-operator")
def keys_create_operator(name: str = typer.Argument(..., help="What the key is for.")) -> None:
    """Create an operator key for the ops API (printed alone on the last line)."""
    row, key = _in_session(lambda s: api_keys.create_operator_key(s, name, actor=CLI_ACTOR))
    _echo_key(row.id, key)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (prefixes only; keys are never stored)."""
    rows = _in_session(api_keys.list_api_keys)
    typer.echo(f"{'ID':36}  {'KIND':8}  {'PREFIX':12}  {'TENANT':36}  {'STATE':7}  NAME")
    for k in rows:
        state = "revoked" if k.revoked_at else "active"
        tenant = str(k.tenant_id) if k.tenant_id else "-"
        typer.echo(
            f"{k.id!s:36}  {k.kind.value:8}  {k.prefix:12}  {tenant:36}  {state:7}  {k.name}"
        )


@keys_app.command("revoke")
def keys_revoke(key_id: uuid.UUID = typer.Argument(..., help="The key's id.")) -> None:
    """Revoke an API key at once."""
    if not _in_session(lambda s: api_keys.revoke_api_key(s, key_id, actor=CLI_ACTOR)):
        typer.echo(f"error: no active key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


# --- groups: one line each -----------------------------------------------------------

app.add_typer(migrate_app, name="migrate")
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(cli_ops.queues_app, name="queues")
app.add_typer(cli_ops.workers_app, name="workers")
app.add_typer(cli_ops.jobs_app, name="jobs")
app.add_typer(cli_ops.dead_app, name="dead")
app.add_typer(cli_ops.queue_app, name="queue")
app.add_typer(cli_ops.stalled_app, name="stalled")
app.add_typer(worker_app, name="worker")


def main() -> None:
    """Entry point of the ``folio`` console script."""
    app()


if __name__ == "__main__":
    main()
