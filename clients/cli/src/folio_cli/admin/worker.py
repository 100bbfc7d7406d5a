"""``folio worker start KIND``: run one of Folio's processes in the foreground.

The services are separate distributions (the shared package never imports
them), so this starts their console scripts: ``docs`` → ``folio-worker-docs``,
``ocr`` → ``folio-worker-ocr``, ``scheduler`` → ``folio-scheduler``, ``api``
→ ``folio-api``. Extra arguments are passed on (``folio worker start docs
--threads 8``). An unknown kind, or a service not installed, exits 2.
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

worker_app = typer.Typer(help="Run Folio's processes.", no_args_is_help=True)


@worker_app.command(
    "start", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def start(
    ctx: typer.Context, kind: str = typer.Argument(..., help="docs, ocr, scheduler or api")
) -> None:
    """Replace this process with the chosen worker (or the scheduler, or the API)."""
    script = SCRIPTS.get(kind)
    if script is None:
        fail(f"unknown kind {kind!r}; choose one of {', '.join(SCRIPTS)}", EXIT_UNAVAILABLE)
    # Beside this interpreter first (a virtualenv not on PATH), then PATH.
    beside = Path(sys.executable).with_name(script)
    path = str(beside) if beside.exists() else shutil.which(script)
    if path is None:
        fail(f"{script} is not installed (pip install the {script} service)", EXIT_UNAVAILABLE)
    os.execv(path, [path, *ctx.args])  # noqa: S606 - a console script of Folio, no shell
