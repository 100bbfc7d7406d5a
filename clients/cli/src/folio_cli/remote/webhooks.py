"""``folio webhooks list|create|delete|deliveries``: the tenant's webhook
endpoints through the HTTP API with the saved login (docs/webhooks.md)."""

from __future__ import annotations

from typing import Any

import typer

from folio_cli.output import AS_JSON, print_json, print_table
from folio_cli.remote.commands import client

webhooks_app = typer.Typer(help="The tenant's webhook endpoints (HTTP API).", no_args_is_help=True)

HOOK_HEADERS = ["ID", "URL", "EVENTS", "ENABLED", "DISABLED REASON"]
DELIVERY_HEADERS = ["ID", "EVENT", "STATUS", "ATTEMPTS", "LAST CODE", "LAST ERROR", "CREATED"]


def _hook_rows(hooks: list[dict[str, Any]]) -> list[list[object]]:
    return [
        [
            h["id"],
            h["url"],
            ",".join(h["events"]) or "(all)",
            "yes" if h["enabled"] else "no",
            h.get("disabled_reason") or "",
        ]
        for h in hooks
    ]


@webhooks_app.command("list")
def webhooks_list(as_json: bool = AS_JSON) -> None:
    """The tenant's endpoints, oldest first."""
    with client() as folio:
        hooks = [h.raw for h in folio.webhooks()]
    if as_json:
        print_json(hooks)
    else:
        print_table(HOOK_HEADERS, _hook_rows(hooks))


@webhooks_app.command("create")
def webhooks_create(
    url: str = typer.Argument(..., help="Where to POST events (http or https)."),
    event: list[str] = typer.Option(
        [], "--event", help="An event type to send (repeat it; default every type)."
    ),
    description: str = typer.Option("", help="What the endpoint is for."),
    as_json: bool = AS_JSON,
) -> None:
    """Register an endpoint; prints its signing secret, shown this once."""
    with client() as folio:
        created = folio.create_webhook(url, events=event, description=description).raw
    if as_json:
        print_json(created)
    else:
        print_table(HOOK_HEADERS, _hook_rows([created["webhook"]]))
        typer.echo(f"signing secret (shown once): {created['secret']}")


@webhooks_app.command("delete")
def webhooks_delete(
    webhook_id: str = typer.Argument(..., help="The endpoint's id."),
    as_json: bool = AS_JSON,
) -> None:
    """Delete an endpoint and its delivery log."""
    with client() as folio:
        folio.delete_webhook(webhook_id)
    if as_json:
        print_json({"deleted": webhook_id})
    else:
        typer.echo(f"deleted webhook {webhook_id}")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    webhook_id: str = typer.Argument(..., help="The endpoint's id."),
    status: str | None = typer.Option(None, help="pending, succeeded or failed."),
    limit: int = typer.Option(20, help="At most this many (up to 100)."),
    as_json: bool = AS_JSON,
) -> None:
    """The endpoint's latest deliveries, each with every attempt (--json)."""
    with client() as folio:
        page = folio.webhook_deliveries(webhook_id, status=status, limit=min(limit, 100))
    items = [d.raw for d in page.items]
    if as_json:
        print_json(items)
        return
    rows = [
        [
            d["id"],
            d["event_type"],
            d["status"],
            d["attempts"],
            d.get("last_status_code") or "",
            (d.get("last_error") or "")[:60],
            d["created_at"],
        ]
        for d in items
    ]
    print_table(DELIVERY_HEADERS, rows)
