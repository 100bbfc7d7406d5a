"""An app served by uvicorn as ``folio-api`` serves the API (Folio's HTTP
protocol, uvloop, loopback), for the API benchmarks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def serve(argv: list[str], env: dict[str, str], port: int, workers: int, log: Path) -> Any:
    """Start uvicorn serving ``argv`` (an app) as ``folio-api`` serves the
    API; returns once ``/healthz`` answers."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            *argv,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
            "--http",
            "folio_api.http:HttpToolsProtocol",
            "--loop",
            "uvloop",
        ],
        env=env,
        cwd=str(Path(__file__).parent),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    # imports and the app's start take several seconds, minutes on a loaded machine
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            sys.exit(f"the server did not start; see {log}")
        time.sleep(0.2)


def stop(proc: Any) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
