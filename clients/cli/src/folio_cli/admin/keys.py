"""``folio keys create-operator|list|revoke``: API keys (``create``, and
``list``/``revoke`` with ``--mine``: the logged-in tenant's own keys
through the HTTP API, :mod:`folio_cli.remote.keys`).

Keys are shown once, when created, alone on the last line of the output
(``| tail -n 1`` takes them); only their prefixes are stored and listed.
Every change is written to the audit log as ``cli``.
"""

from __future__ import annotations

import uuid

import typer

from folio_cli.admin.servers import in_session
from folio_cli.errors import fail
from folio_cli.output import AS_JSON, print_json
from folio_cli.remote.keys import tenant_keys_list, tenant_keys_revoke
from folio_shared.db.repositories import api_keys
from folio_shared.security import parse_api_key

#: Who the audit log says acted, for changes made from the command line.
CLI_ACTOR = "cli"

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def echo_key(key_id: uuid.UUID | None, key: str) -> None:
    """Print a new key: its id and prefix, then the key alone on the last line."""
    if key_id is not None:
        typer.echo(f"key id:     {key_id}")
    typer.echo(f"key prefix: {parse_api_key(key)}")
    typer.echo("API key (shown once; store it now):")
    typer.echo(key)


@keys_app.command("create-operator")
def keys_create_operator(name: str = typer.Argument(..., help="What the key is for.")) -> None:
    """Create an operator key for the ops API (printed alone on the last line)."""
    row, key = in_session(lambda s: api_keys.create_operator_key(s, name, actor=CLI_ACTOR))
    echo_key(row.id, key)


@keys_app.command("list")
def keys_list(
    mine: bool = typer.Option(
        False, "--mine", help="The logged-in tenant's keys, through the HTTP API."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """List API keys (prefixes only; keys are never stored)."""
    if mine:
        tenant_keys_list(as_json)
        return
    rows = in_session(api_keys.list_api_keys)
    if as_json:
        print_json(
            [
                {
                    "id": k.id,
                    "kind": k.kind.value,
                    "prefix": k.prefix,
                    "tenant_id": k.tenant_id,
                    "name": k.name,
                    "revoked_at": k.revoked_at,
                }
                for k in rows
            ]
        )
        return
    typer.echo(f"{'ID':36}  {'KIND':8}  {'PREFIX':12}  {'TENANT':36}  {'STATE':7}  NAME")
    for k in rows:
        state = "revoked" if k.revoked_at else "active"
        tenant = str(k.tenant_id) if k.tenant_id else "-"
        typer.echo(
            f"{k.id!s:36}  {k.kind.value:8}  {k.prefix:12}  {tenant:36}  {state:7}  {k.name}"
        )


@keys_app.command("revoke")
def keys_revoke(
    key_id: uuid.UUID = typer.Argument(..., help="The key's id."),
    mine: bool = typer.Option(
        False, "--mine", help="One of the logged-in tenant's keys, through the HTTP API."
    ),
) -> None:
    """Revoke an API key at once."""
    if mine:
        tenant_keys_revoke(str(key_id))
        return
    if not in_session(lambda s: api_keys.revoke_api_key(s, key_id, actor=CLI_ACTOR)):
        fail(f"no active key {key_id}")
    typer.echo(f"revoked {key_id}")
