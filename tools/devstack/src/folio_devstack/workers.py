"""Folio workers as real processes, for tests and benchmarks.

:class:`WorkerProcess` runs Folio's supervised worker (the same code path as
``folio-worker-docs``) in its own process group, with the settings given
turned into ``FOLIO_*`` variables (other exported ``FOLIO_*`` variables pass
through), so a test can SIGTERM it, SIGKILL the
whole worker at once, or start a second one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from folio_shared.settings import FolioSettings

_JOB_SETTINGS = (
    "lease_ms",
    "min_backoff_ms",
    "max_backoff_ms",
    "reconcile_interval_ms",
    "lost_after_ms",
    "max_retries",
)


def worker_env(
    settings: FolioSettings, *, python_path: Sequence[Path] = (), **extra: str
) -> dict[str, str]:
    """The environment of a worker process running with ``settings``.

    It is this process's environment, ``FOLIO_*`` variables included, so a
    setting exported by the user (``FOLIO_PIPELINE_QUERY_THREADS``,
    ``FOLIO_OCR_*``...) reaches the worker. Exported values are replaced
    only where the worker must follow ``settings``:

    - ``FOLIO_ENV`` is ``test``;
    - the servers and the data: ``FOLIO_DATABASE_URL``, ``FOLIO_REDIS_URL``,
      ``FOLIO_BROKER_NAMESPACE``, ``FOLIO_STORAGE_BACKEND``,
      ``FOLIO_STORAGE_LOCAL_ROOT`` and ``FOLIO_PIPELINE_MODEL_CACHE_DIR``
      (when set);
    - what the caller's ``settings`` may have changed for its run: the
      broker heartbeat timeout, the job timings and retries
      (``FOLIO_JOBS_LEASE_MS``...), the large-document limits, the
      embedding model and ``FOLIO_PIPELINE_WARM_UP``.

    ``FOLIO_LOG_FORMAT`` (``console``) and ``FOLIO_LOG_LEVEL`` (``WARNING``)
    are defaults an exported value overrides. ``extra`` wins over all.
    """
    env = dict(os.environ)
    env.setdefault("FOLIO_LOG_FORMAT", "console")
    env.setdefault("FOLIO_LOG_LEVEL", "WARNING")
    env.update(
        FOLIO_ENV="test",
        FOLIO_DATABASE_URL=settings.database.url,
        FOLIO_REDIS_URL=settings.redis.url,
        FOLIO_BROKER_NAMESPACE=settings.broker.namespace,
        FOLIO_BROKER_HEARTBEAT_TIMEOUT_MS=str(settings.broker.heartbeat_timeout_ms),
        FOLIO_STORAGE_BACKEND=settings.storage.backend,
        FOLIO_STORAGE_LOCAL_ROOT=str(settings.storage.local_root),
        FOLIO_PIPELINE_LARGE_DOCUMENT_BYTES=str(settings.pipeline.large_document_bytes),
        FOLIO_PIPELINE_LARGE_DOCUMENT_PAGES=str(settings.pipeline.large_document_pages),
        FOLIO_PIPELINE_EMBEDDING_MODEL=settings.pipeline.embedding_model,
        FOLIO_PIPELINE_WARM_UP=str(settings.pipeline.warm_up).lower(),
        HF_HUB_OFFLINE="1",
    )
    if settings.pipeline.model_cache_dir is not None:
        env["FOLIO_PIPELINE_MODEL_CACHE_DIR"] = str(settings.pipeline.model_cache_dir)
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join([*map(str, python_path), env.get("PYTHONPATH", "")])
    for name in _JOB_SETTINGS:
        env[f"FOLIO_JOBS_{name.upper()}"] = str(getattr(settings.jobs, name))
    env.update(extra)
    return env


class WorkerProcess:
    """``folio_shared.worker.supervise(argv)`` in a process group of its own.

    - ``argv``: Dramatiq CLI arguments (module, ``--queues``, ...).
    - ``env``: its environment (see :func:`worker_env`).
    - ``log``: file receiving its output.
    """

    def __init__(self, argv: Sequence[str], env: dict[str, str], log: Path) -> None:
        code = (
            "from folio_shared.worker import supervise; "
            f"raise SystemExit(supervise({list(argv)!r}))"
        )
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the supervisor and every worker process at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout_s: float = 60) -> int:
        """SIGTERM (graceful shutdown); returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout_s)

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()
