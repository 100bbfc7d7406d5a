"""``folio worker start``: run one of Folio's processes, or a worker of job kinds.

``folio worker start KIND`` starts a service's console script (the services
are separate distributions: the shared package never imports them):
``docs`` → ``folio-worker-docs``, ``ocr`` → ``folio-worker-ocr``,
``scheduler`` → ``folio-scheduler``, ``api`` → ``folio-api``. Extra
arguments are passed on (``folio worker start docs --threads 8``). An
unknown kind, or a service not installed, exits 2.

``folio worker start --jobs my_package.jobs [--queues media]`` runs a worker
of the job kinds declared in those modules (``folio worker start jobs``:
the kinds of every installed ``folio.jobs`` entry point), supervised like
Folio's own workers (:mod:`folio_shared.kinds.run`). A module that does
not import or declares no kind, or a queue no kind uses, exits 2.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import typer

from folio_cli.errors import EXIT_UNAVAILABLE, fail

#: What each kind runs.
SCRIPTS = {
    "docs": "folio-worker-docs",
    "ocr": "folio-worker-ocr",
    "scheduler": "folio-scheduler",
    "api": "folio-api",
}

#: The kind that runs a worker of job kinds (with ``--jobs`` it is implied).
JOBS = "jobs"

worker_app = typer.Typer(help="Run Folio's processes.", no_args_is_help=True)


@worker_app.command(
    "start", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def start(
    ctx: typer.Context,
    kind: str = typer.Argument(JOBS, help="docs, ocr, scheduler, api or jobs"),
    jobs: list[str] = typer.Option(
        [], "--jobs", help="module declaring job kinds (repeat, or comma-separated)"
    ),
    queues: list[str] = typer.Option(
        [], "--queues", help="only the kinds on these queues (repeat, or comma-separated)"
    ),
) -> None:
    """Replace this process with the chosen worker (or the scheduler, or the API)."""
    if jobs or kind == JOBS:
        _start_jobs(jobs, queues, ctx.args)
        return
    script = SCRIPTS.get(kind)
    if script is None:
        choices = ", ".join([*SCRIPTS, JOBS])
        fail(f"unknown kind {kind!r}; choose one of {choices}", EXIT_UNAVAILABLE)
    # Beside this interpreter first (a virtualenv not on PATH), then PATH.
    beside = Path(sys.executable).with_name(script)
    path = str(beside) if beside.exists() else shutil.which(script)
    if path is None:
        fail(f"{script} is not installed (pip install the {script} service)", EXIT_UNAVAILABLE)
    os.execv(path, [path, *ctx.args])  # noqa: S606 - a console script of Folio, no shell


def _start_jobs(jobs: list[str], queues: list[str], extra: list[str]) -> None:
    from folio_shared.errors import ConfigurationError, InvalidInput
    from folio_shared.kinds.load import split_names
    from folio_shared.kinds.run import run_kinds_worker

    modules = [m for value in jobs for m in split_names(value)]
    chosen = [q for value in queues for q in split_names(value)]
    try:
        code = run_kinds_worker(modules, chosen, extra)
    except (ConfigurationError, InvalidInput) as e:
        fail(str(e), EXIT_UNAVAILABLE)
    raise typer.Exit(code)
