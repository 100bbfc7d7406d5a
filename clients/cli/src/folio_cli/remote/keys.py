"""``folio keys create`` and ``folio keys list|revoke --mine``: the
tenant's own API keys through the HTTP API with the saved login (without
``--mine``, ``list`` and ``revoke`` are the admin commands, which read the
database). Rotate a key: ``create``, switch the clients to the new key
(``folio login`` again), ``revoke --mine`` the old one."""

from __future__ import annotations

import typer

from folio_cli.output import AS_JSON, print_json, print_table
from folio_cli.remote.commands import client


def keys_create(
    name: str = typer.Argument(..., help="What the key is for."),
    as_json: bool = AS_JSON,
) -> None:
    """Create a key for the logged-in tenant (printed alone on the last line)."""
    with client() as folio:
        created = folio.create_key(name)
    if as_json:
        print_json(created.raw)
        return
    typer.echo(f"key id:     {created.api_key.id}")
    typer.echo(f"key prefix: {created.api_key.prefix}")
    typer.echo("API key (shown once; store it now):")
    typer.echo(created.key)


def tenant_keys_list(as_json: bool) -> None:
    """The logged-in tenant's keys (``folio keys list --mine``)."""
    with client() as folio:
        keys = folio.keys()
    if as_json:
        print_json([k.raw for k in keys])
        return
    rows = [
        [
            k.id,
            k.prefix,
            "revoked" if k.revoked_at else "active",
            "yes" if k.current else "",
            k.name,
        ]
        for k in keys
    ]
    print_table(["ID", "PREFIX", "STATE", "CURRENT", "NAME"], rows)


def tenant_keys_revoke(key_id: str) -> None:
    """Revoke one of the logged-in tenant's keys (``folio keys revoke --mine``)."""
    with client() as folio:
        folio.revoke_key(key_id)
    typer.echo(f"revoked {key_id} (it stops working within 30 s)")
