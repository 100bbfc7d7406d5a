"""``folio migrate [down|current]``: the database schema (Alembic).

``folio migrate`` upgrades to the latest revision (``--revision`` to stop
earlier), ``folio migrate down REVISION`` downgrades (``base`` drops
everything), ``folio migrate current`` prints the database's revision and
the newest one available. The API image runs ``folio migrate`` in an init
container before the API starts.
"""

from __future__ import annotations

import typer

from folio_cli.errors import reported, shown_url
from folio_shared.db import migrate as migrations
from folio_shared.settings import get_settings

migrate_app = typer.Typer(help="Migrate the database schema (default: up to the latest).")


@migrate_app.callback(invoke_without_command=True)
def migrate(
    ctx: typer.Context,
    revision: str = typer.Option("head", "--revision", "-r", help="Target revision."),
) -> None:
    """Migrate the database up to REVISION (default: the latest)."""
    if ctx.invoked_subcommand is not None:
        return
    with reported():
        url = get_settings().database.url
        migrations.upgrade(url, revision)
        typer.echo(f"{shown_url(url)} is at revision {migrations.current(url)}")


@migrate_app.command("down")
def migrate_down(
    revision: str = typer.Argument(..., help="Target revision; `base` drops everything."),
) -> None:
    """Migrate the database down to REVISION."""
    with reported():
        url = get_settings().database.url
        migrations.downgrade(url, revision)
        typer.echo(f"{shown_url(url)} is at revision {migrations.current(url) or 'base'}")


@migrate_app.command("current")
def migrate_current() -> None:
    """Print the database's revision and the newest one available."""
    with reported():
        url = get_settings().database.url
        typer.echo(f"current: {migrations.current(url) or 'base'}")
        typer.echo(f"head:    {migrations.head()}")
