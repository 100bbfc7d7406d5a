"""Running a Dramatiq worker for a Folio service, supervised.

A worker service's console script calls :func:`run_worker` with the module
that sets up its broker and actors and the logical queues it consumes (each
with its priority sub-queues). Process count, thread count and the graceful
shutdown timeout come from settings (``FOLIO_WORKER_*``); extra command-line
arguments go to Dramatiq's own CLI (``folio-worker-docs --threads 8``).

Dramatiq's CLI stops *all* its worker processes when one dies (a SIGKILL,
the kernel's OOM killer, a poison document). :func:`run_worker` runs it as a
child and starts it again after an unexpected exit, with a growing delay,
so one bad document cannot take a worker pod down for good; the job engine
counts the lost attempt and quarantines a job that keeps doing it. SIGTERM
and SIGINT are passed on, and a requested stop is never restarted.

Dramatiq's CLI forks its worker processes, and each imports the worker
module after the fork. The kernel every Folio worker runs (the broker, its
middleware, the job engine and their libraries: SQLAlchemy and the ORM
models, asyncpg, redis-py, OpenTelemetry, prometheus_client) is imported
once in the CLI's own process before it forks (:data:`PRELOAD`), so the
processes share it instead of each importing it again on the same cores
(0.7 to 0.8 s of CPU per process on the reference machine). Nothing in it
opens a connection or starts a thread at import time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from folio_shared.logging import configure_logging, get_logger
from folio_shared.messages import Queue, physical_queue_names
from folio_shared.metrics import prepare_multiprocess_dir
from folio_shared.settings import get_settings

log = get_logger(__name__)

#: Longest wait between two restarts, in seconds.
MAX_RESTART_DELAY_S = 30.0

#: Modules Dramatiq's CLI process imports before it forks the workers.
PRELOAD = ("folio_shared.broker",)

#: The worker's command: Dramatiq's CLI, after :data:`PRELOAD`.
_CLI = (
    "import importlib, sys\n"
    f"for name in {PRELOAD!r}: importlib.import_module(name)\n"
    "from dramatiq.cli import main\n"
    "sys.exit(main())"
)


def worker_argv(module: str, queues: Sequence[Queue], extra: Sequence[str] = ()) -> list[str]:
    """The Dramatiq CLI arguments for ``module`` consuming ``queues``, each
    with its priority sub-queues (critical, high, normal, low)."""
    settings = get_settings().worker
    logical = [Queue.parse(q.strip()) for q in settings.queues.split(",") if q.strip()]
    return dramatiq_argv([module], logical or queues, threads=settings.threads, extra=extra)


def dramatiq_argv(
    modules: Sequence[str],
    queues: Sequence[Queue | str],
    *,
    threads: int,
    extra: Sequence[str] = (),
) -> list[str]:
    """The Dramatiq CLI arguments importing ``modules`` (the first sets up
    the broker), with ``threads`` threads per process, consuming every
    priority sub-queue of ``queues``; process count and shutdown timeout
    from settings."""
    settings = get_settings().worker
    chosen = [name for q in queues for name in physical_queue_names(q)]
    return [
        *modules,
        "--processes",
        str(settings.processes),
        "--threads",
        str(threads),
        "--worker-shutdown-timeout",
        str(settings.shutdown_timeout_ms),
        "--queues",
        *chosen,
        *extra,
    ]


def supervise(
    argv: Sequence[str], *, restart: bool = True, env: dict[str, str] | None = None
) -> int:
    """Run Dramatiq's CLI with ``argv`` (after :data:`PRELOAD`) until it
    stops on request; restart it after an unexpected exit. Returns the last
    exit code. ``env``: variables added to the worker's environment."""
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    # Several worker processes per pod: their metrics are summed through
    # prometheus_client's multiprocess mode, in a folder emptied at each start.
    metrics_dir = Path(tempfile.mkdtemp(prefix="folio-metrics-"))
    env = {**os.environ, **(env or {}), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}  # noqa: TID251
    delay = 1.0
    while True:
        started = time.monotonic()
        prepare_multiprocess_dir(metrics_dir)
        child = subprocess.Popen([sys.executable, "-c", _CLI, *argv], env=env)
        code = child.wait()
        if stopping or code == 0 or not restart:
            return code
        if time.monotonic() - started > 60:
            delay = 1.0
        log.error("worker exited unexpectedly; restarting", exit_code=code, delay_s=delay)
        time.sleep(delay)
        delay = min(delay * 2, MAX_RESTART_DELAY_S)
        if stopping:
            return code


def run_worker(module: str, queues: Sequence[Queue]) -> None:
    """Run the supervised Dramatiq worker for ``module`` (never returns)."""
    configure_logging(service=module.split(".")[0].removeprefix("folio_").replace("_", "-"))
    sys.exit(supervise(worker_argv(module, queues, sys.argv[1:])))
