"""``folio dead list|show|redrive|purge``: the dead-letter workbench.

Which jobs ``redrive`` and ``purge`` touch follows the rule the ops API
applies too (:mod:`folio_shared.ops.selection`): exactly one way of
choosing — job ids, a filter that narrows (``--queue``, ``--actor``,
``--error-type``, ``--tenant``, ``--since``, ``--until``), or ``--all`` —
at most ``--limit`` jobs (default 100). No way, or two at once, is refused
(exit 1). Re-drives and purges are written to the audit log as ``cli`` (or
``--as NAME``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import typer

from folio_cli.admin.jobs import ACTOR, OPTION, jobs_show, parse_options
from folio_cli.admin.servers import with_servers
from folio_cli.errors import reported
from folio_cli.output import AS_JSON, print_json, print_table
from folio_shared.ops import dead
from folio_shared.ops.selection import MAX_SELECTION, dead_filter, select_dead

dead_app = typer.Typer(help="The dead-letter workbench.", no_args_is_help=True)

QUEUE = typer.Option(None, "--queue", help="Logical (ocr) or physical (ocr.high) queue.")
ACTOR_NAME = typer.Option(None, "--actor", help="Actor name, e.g. ocr.page.")
ERROR_TYPE = typer.Option(None, "--error-type", help="Exception type, e.g. TimeoutError.")
TENANT = typer.Option(None, "--tenant", help="Tenant id.")
SINCE = typer.Option(None, "--since", help="Died at or after (ISO time, UTC if naive).")
UNTIL = typer.Option(None, "--until", help="Died before (ISO time).")
LIMIT = typer.Option(100, "--limit", min=1, max=MAX_SELECTION, help="At most this many jobs.")
EVERYTHING = typer.Option(False, "--all", help="Every dead job (up to --limit).")
JOB_IDS_HELP = "Jobs to {} (or choose with a filter, or --all)."


@dead_app.command("list")
def dead_list(
    queue: str | None = QUEUE,
    actor: str | None = ACTOR_NAME,
    error_type: str | None = ERROR_TYPE,
    tenant: uuid.UUID | None = TENANT,
    since: datetime | None = SINCE,
    until: datetime | None = UNTIL,
    limit: int = LIMIT,
    as_json: bool = AS_JSON,
) -> None:
    """Dead jobs, the most recent first, filtered."""
    flt = dead_filter(queue, actor, error_type, tenant, since, until, limit)
    found = with_servers(lambda s: dead.list_dead(s.engine, flt))
    if as_json:
        print_json(found)
        return
    rows = [
        [j.id, j.actor, j.queue, j.attempts, j.error_type, (j.error_message or "")[:60]]
        for j in found
    ]
    print_table(["JOB", "ACTOR", "QUEUE", "ATTEMPTS", "ERROR", "MESSAGE"], rows)


@dead_app.command("show")
def dead_show(job_id: uuid.UUID, as_json: bool = AS_JSON) -> None:
    """A dead job: payload and every attempt with its error and traceback."""
    jobs_show(job_id, as_json)


@dead_app.command("redrive")
def dead_redrive(
    job_ids: list[uuid.UUID] = typer.Argument(None, help=JOB_IDS_HELP.format("re-drive")),
    queue: str | None = QUEUE,
    actor_name: str | None = ACTOR_NAME,
    error_type: str | None = ERROR_TYPE,
    tenant: uuid.UUID | None = TENANT,
    since: datetime | None = SINCE,
    until: datetime | None = UNTIL,
    limit: int = LIMIT,
    everything: bool = EVERYTHING,
    option: list[str] = OPTION,
    actor: str = ACTOR,
    as_json: bool = AS_JSON,
) -> None:
    """Run dead jobs again, each once, optionally with changed payload options."""
    flt = dead_filter(queue, actor_name, error_type, tenant, since, until, limit)
    with reported():
        opts = parse_options(option)
        chosen = select_dead(job_ids, flt, everything)
    report = with_servers(
        lambda s: dead.redrive(
            s.jobs, job_ids=chosen.job_ids, flt=chosen.flt, options=opts, actor=actor
        )
    )
    if as_json:
        print_json(report)
        return
    typer.echo(f"re-driven: {len(report.redriven)}")
    for jid in report.redriven:
        typer.echo(f"  {jid}")
    for skipped_id, why in report.skipped.items():
        typer.echo(f"skipped {skipped_id}: {why}")


@dead_app.command("purge")
def dead_purge(
    job_ids: list[uuid.UUID] = typer.Argument(None, help=JOB_IDS_HELP.format("purge")),
    queue: str | None = QUEUE,
    actor_name: str | None = ACTOR_NAME,
    error_type: str | None = ERROR_TYPE,
    tenant: uuid.UUID | None = TENANT,
    since: datetime | None = SINCE,
    until: datetime | None = UNTIL,
    limit: int = LIMIT,
    everything: bool = EVERYTHING,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    actor: str = ACTOR,
    as_json: bool = AS_JSON,
) -> None:
    """Delete dead jobs and their dead-letter messages (history is lost)."""
    flt = dead_filter(queue, actor_name, error_type, tenant, since, until, limit)
    with reported():
        chosen = select_dead(job_ids, flt, everything)
    if not yes:
        typer.confirm("Delete the selected dead jobs for good?", abort=True)
    gone = with_servers(
        lambda s: dead.purge(s.jobs, job_ids=chosen.job_ids, flt=chosen.flt, actor=actor)
    )
    if as_json:
        print_json({"purged": gone})
    else:
        typer.echo(f"purged: {len(gone)}")
