"""``folio jobs show|retry|cancel JOB_ID``: one job, whatever its state.

``show`` prints a job's state, payload and every attempt with its error and
traceback; ``retry`` runs a failed, dead or cancelled job again from the
start (``-o key=value`` changes payload fields first); ``cancel`` stops it.
Retries and cancellations are written to the audit log as ``cli`` (or
``--as NAME``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import typer

from folio_cli.admin.servers import Servers, with_servers
from folio_cli.errors import reported
from folio_cli.output import AS_JSON, print_json, when
from folio_shared.errors import InvalidInput
from folio_shared.ops import audit, dead

#: Who the audit log says acted (``--as``).
ACTOR = typer.Option("cli", "--as", help="Who the audit log says acted.")
#: Payload overrides of a retry or re-drive (``-o``).
OPTION = typer.Option([], "--option", "-o", help="Payload override key=value (repeatable).")

jobs_app = typer.Typer(
    help="Show, retry or cancel one job (database); list, watch or submit jobs (HTTP API).",
    no_args_is_help=True,
)


def parse_options(pairs: list[str]) -> dict[str, Any] | None:
    """``key=value`` pairs; values parse as JSON when they can (``true``,
    ``3``, ``["eng","deu"]``), else stay text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"option {pair!r} is not key=value", option=pair)
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out or None


def _print_detail(detail: dead.JobDetail) -> None:
    j = detail.job
    for label, value in (
        ("job", j.id),
        ("status", j.status),
        ("actor", j.actor),
        ("queue", j.queue),
        ("tenant", j.tenant_id),
        ("document", j.document_id),
        ("parent", j.parent_id),
        ("attempts", f"{j.attempts} (retries allowed: {j.max_retries})"),
        ("stage", f"{detail.stage or '-'} {detail.progress}%"),
        ("error", f"{j.error_type}: {j.error_message}" if j.error_type else None),
        ("created", when(j.created_at)),
        ("finished", when(j.finished_at)),
    ):
        typer.echo(f"{label + ':':10} {'-' if value is None else value}")
    typer.echo(f"payload:   {json.dumps(detail.payload, sort_keys=True)}")
    for a in detail.attempts:
        run = f" (run {a.run + 1})" if a.run else ""
        why = f" {a.error_type}: {a.error_message}" if a.error_type else ""
        typer.echo(f"\nattempt {a.attempt}{run}: {a.status or '?'} at {when(a.at)}{why}")
        if a.traceback:
            for line in a.traceback.rstrip().splitlines():
                typer.echo(f"    {line}")


@jobs_app.command("show")
def jobs_show(job_id: uuid.UUID, as_json: bool = AS_JSON) -> None:
    """A job: state, payload, and every attempt with its error and traceback."""
    detail = with_servers(lambda s: dead.inspect_job(s.engine, job_id))
    if as_json:
        print_json(detail)
    else:
        _print_detail(detail)


def _print_state(job: Any, as_json: bool) -> None:
    if as_json:
        print_json({"id": job.id, "status": str(job.status)})
    else:
        typer.echo(f"job {job.id} is {job.status}")


@jobs_app.command("retry")
def jobs_retry(
    job_id: uuid.UUID, option: list[str] = OPTION, actor: str = ACTOR, as_json: bool = AS_JSON
) -> None:
    """Run a failed, dead or cancelled job again from the start."""
    with reported():
        opts = parse_options(option)

    async def work(s: Servers) -> Any:
        job = await s.jobs.retry(job_id, options=opts)
        await audit.record_now(
            s.engine,
            actor=actor,
            action="job.retry",
            target=f"job:{job_id}",
            details={"options": opts or {}},
        )
        return job

    _print_state(with_servers(work), as_json)


@jobs_app.command("cancel")
def jobs_cancel(job_id: uuid.UUID, actor: str = ACTOR, as_json: bool = AS_JSON) -> None:
    """Cancel a job (queued: at once; running: at its next progress report)."""

    async def work(s: Servers) -> Any:
        job = await s.jobs.cancel(job_id)
        await audit.record_now(s.engine, actor=actor, action="job.cancel", target=f"job:{job_id}")
        return job

    _print_state(with_servers(work), as_json)
