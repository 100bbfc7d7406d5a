"""A worker process imports only the clients it is configured for.

Every worker process imports the broker and the job engine before its first
job. The S3 client libraries (aioboto3, aiobotocore, boto3, botocore: about
a second of CPU on this machine's cores) are imported only when the S3
storage backend is created, and the RabbitMQ client (pika) only for an
``amqp://`` broker URL. What every process needs is imported once, by
Dramatiq's CLI before it forks the worker processes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

OPTIONAL_CLIENTS = ("aioboto3", "aiobotocore", "boto3", "botocore", "pika")

PROBE = f"""
import sys
import folio_shared.broker, folio_shared.jobs, folio_shared.resources, folio_shared.storage
print(",".join(m for m in {OPTIONAL_CLIENTS!r} if m in sys.modules))
"""


def test_worker_modules_import_no_optional_client() -> None:
    # Given a fresh interpreter (this one may have imported them already)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    # Then the broker, the job engine and the worker's resources loaded none of them
    assert out.stdout.strip() == ""


#: A worker module that reports what its process had imported before it,
#: then stops the worker (an import error ends Dramatiq's CLI).
WORKER_PROBE = """
import os, sys
with open(os.environ["FOLIO_PROBE_OUT"], "w") as f:
    f.write(str("folio_shared.broker" in sys.modules))
raise ImportError("probe done")
"""


def test_worker_processes_fork_with_the_kernel_imported(tmp_path: Path) -> None:
    """Dramatiq's CLI imports the kernel once before it forks the worker
    processes: each finds it imported instead of importing it again."""
    from folio_shared.worker import supervise

    # Given a worker module that only looks at what was imported before it
    (tmp_path / "probe_worker.py").write_text(WORKER_PROBE)
    out = tmp_path / "out.txt"
    # When the supervisor runs it as a worker
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = supervise(
            ["probe_worker", "--path", str(tmp_path), "--processes", "1", "--threads", "1"],
            restart=False,
            env={"FOLIO_PROBE_OUT": str(out)},
        )
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    # Then its process had the broker and the job engine already
    assert code != 0
    assert out.read_text() == "True"


def test_the_preloaded_kernel_opens_nothing_at_import() -> None:
    """What the CLI imports before forking starts no thread (a fork keeps
    only the forking one)."""
    probe = "import threading, folio_shared.worker as w, importlib\n"
    probe += "[importlib.import_module(m) for m in w.PRELOAD]\n"
    probe += "print(threading.active_count())"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "1"
