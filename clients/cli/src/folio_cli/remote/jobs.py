"""``folio jobs list|watch|submit``: jobs through the HTTP API with the
saved login (the group's ``show``, ``retry`` and ``cancel`` are the admin
commands, which read the database)."""

from __future__ import annotations

import json

import typer

from folio_cli.errors import fail
from folio_cli.output import AS_JSON, print_json, print_table
from folio_cli.remote.commands import client
from folio_client import Job

JOB_HEADERS = ["ID", "KIND", "STATUS", "PROGRESS", "CREATED"]


def _rows(jobs: list[Job]) -> list[list[object]]:
    return [[j.id, j.actor or "-", j.status, f"{j.progress}%", j.created_at] for j in jobs]


def jobs_list(
    status: str | None = typer.Option(None, help="Only jobs in this status."),
    kind: str | None = typer.Option(None, "--kind", help="Only jobs of this kind."),
    limit: int = typer.Option(50, help="At most this many."),
    as_json: bool = AS_JSON,
) -> None:
    """The tenant's jobs, newest first (HTTP API)."""
    found: list[Job] = []
    with client() as folio:
        for job in folio.jobs(status=status, kind=kind, limit=min(limit, 100)):
            found.append(job)
            if len(found) >= limit:
                break
    if as_json:
        print_json([j.raw for j in found])
    else:
        print_table(JOB_HEADERS, _rows(found))


def jobs_submit(
    kind: str = typer.Argument(..., help="The job kind, e.g. audio.analyze."),
    payload: str = typer.Option("{}", "--payload", help="The payload, a JSON object."),
    priority: str | None = typer.Option(None, help="low, normal, high or critical."),
    as_json: bool = AS_JSON,
) -> None:
    """Submit a job of a declared kind (HTTP API)."""
    try:
        body = json.loads(payload)
    except ValueError as e:
        fail(f"--payload is not JSON: {e}")
    if not isinstance(body, dict):
        fail("--payload must be a JSON object")
    with client() as folio:
        job = folio.submit(kind, body, priority=priority)
    if as_json:
        print_json(job.raw)
    else:
        print_table(JOB_HEADERS, _rows([job]))


def jobs_watch(
    job_id: str = typer.Argument(..., help="The job's id."),
    timeout_s: float = typer.Option(600.0, "--timeout-s", help="Give up after this long."),
    as_json: bool = AS_JSON,
) -> None:
    """Follow a job live until it finishes; exit 1 unless it succeeded."""
    with client() as folio:
        for event in folio.events(job_id):
            if as_json:
                typer.echo(json.dumps({"type": event.type, "id": event.id, "data": event.data}))
            else:
                data = event.data
                status = data.get("status", "")
                stage = data.get("stage", "")
                typer.echo(f"{event.type:9} {status:10} {stage}".rstrip())
        job = folio.wait_for_job(job_id, timeout_s=timeout_s)
    if not as_json:
        typer.echo(f"job {job.id}: {job.status}")
    if job.status != "succeeded":
        raise typer.Exit(1)
