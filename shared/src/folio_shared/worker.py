"""Running a Dramatiq worker for a Folio service.

A worker service's console script calls :func:`run_worker` with the module
that sets up its broker and actors and the queues it consumes; the process
count, thread count and graceful-shutdown timeout come from settings
(``FOLIO_WORKER_*``). Extra command-line arguments are passed to Dramatiq's
own CLI (``folio-worker-docs --threads 8`` works).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from dramatiq import cli as dramatiq_cli

from folio_shared.settings import get_settings


def worker_argv(module: str, queues: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    """The Dramatiq CLI arguments for ``module`` consuming ``queues``."""
    settings = get_settings().worker
    chosen = [q.strip() for q in settings.queues.split(",") if q.strip()] or list(queues)
    return [
        module,
        "--processes",
        str(settings.processes),
        "--threads",
        str(settings.threads),
        "--worker-shutdown-timeout",
        str(settings.shutdown_timeout_ms),
        "--queues",
        *chosen,
        *extra,
    ]


def run_worker(module: str, queues: Sequence[str]) -> None:
    """Run Dramatiq's worker for ``module`` (never returns)."""
    parser = dramatiq_cli.make_argument_parser()  # type: ignore[no-untyped-call]
    args = parser.parse_args(worker_argv(module, queues, sys.argv[1:]))
    sys.exit(dramatiq_cli.main(args))  # type: ignore[no-untyped-call]
