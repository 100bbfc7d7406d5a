"""``folio tenants create|list|limits``: tenants, each created with its
first API key, and what each may submit.

``create`` prints the tenant and its key (alone on the last line); a name
taken is refused (exit 1). ``limits`` sets the highest priority the tenant
may ask for and the job kinds it may submit. Changes are written to the
audit log as ``cli``.
"""

from __future__ import annotations

import typer

from folio_cli.admin.keys import CLI_ACTOR, echo_key
from folio_cli.admin.servers import in_session
from folio_shared.db.repositories import tenants

tenants_app = typer.Typer(help="Create and list tenants.", no_args_is_help=True)


@tenants_app.command("create")
def tenants_create(
    name: str = typer.Argument(..., help="Unique tenant name."),
    retention_days: int | None = typer.Option(
        None, "--retention-days", min=1, help="Purge documents older than this (default: never)."
    ),
) -> None:
    """Create a tenant and its first API key (printed alone on the last line)."""
    tenant, key = in_session(
        lambda s: tenants.create_tenant(
            s, name, document_retention_days=retention_days, actor=CLI_ACTOR
        )
    )
    typer.echo(f"tenant id:  {tenant.id}")
    typer.echo(f"name:       {tenant.name}")
    echo_key(None, key)


@tenants_app.command("limits")
def tenants_limits(
    name: str = typer.Argument(..., help="Tenant name."),
    max_priority: str | None = typer.Option(
        None,
        "--max-priority",
        help="Highest priority it may ask for: low, normal, high, critical (default: high).",
    ),
    kinds: str | None = typer.Option(
        None, "--kinds", help="Comma-separated job kinds it may submit (default: every kind)."
    ),
) -> None:
    """Set what a tenant may submit (options left out go back to their defaults)."""
    allowed = [k.strip() for k in kinds.split(",") if k.strip()] if kinds is not None else None
    tenant = in_session(
        lambda s: tenants.set_tenant_limits(
            s, name, max_priority=max_priority, allowed_kinds=allowed, actor=CLI_ACTOR
        )
    )
    typer.echo(f"tenant:        {tenant.name}")
    typer.echo(f"max priority:  {tenant.max_priority or 'high (default)'}")
    typer.echo(f"kinds:         {', '.join(tenant.allowed_kinds or []) or 'every kind'}")


@tenants_app.command("list")
def tenants_list() -> None:
    """List tenants."""
    rows = in_session(tenants.list_tenants)
    typer.echo(f"{'ID':36}  {'CREATED':25}  {'RETENTION':9}  NAME")
    for t in rows:
        retention = "-" if t.document_retention_days is None else f"{t.document_retention_days}d"
        typer.echo(
            f"{t.id!s:36}  {t.created_at.isoformat(timespec='seconds'):25}  {retention:9}  {t.name}"
        )
