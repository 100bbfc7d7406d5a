"""The services that run beside worker-docs in a deployment (the API,
worker-ocr, the scheduler), for the benchmarks that report the memory of
each service while documents are processed.

:class:`OtherServices` starts them on the benchmark's servers and settings,
samples the peak RSS of each (all its processes), and has a client follow
the documents through the API (``GET /v1/documents/{id}`` of the documents
submitted so far, ``rate`` per second), so the API serves requests while
worker-docs works. Loopback only; everything is stopped at the end.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from _rss import PeakRss
from _uvicorn import serve, stop

from folio_devstack.ports import pick_port
from folio_devstack.workers import WorkerProcess, worker_env
from folio_shared.messages import Queue, physical_queue_names
from folio_shared.settings import FolioSettings

OCR_QUEUES = list(physical_queue_names(Queue.OCR))


class OtherServices:
    """The API, worker-ocr and the scheduler beside a benchmark's worker-docs."""

    NAMES = ("api", "worker-ocr", "scheduler")

    def __init__(self, settings: FolioSettings, root: Path, key: str, rate: float = 20.0) -> None:
        self.settings = settings
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.rate = rate
        #: documents the client follows (the benchmark appends to it)
        self.documents: list[uuid.UUID] = []
        self.reads = 0
        self.read_errors = 0
        self.rss: dict[str, PeakRss] = {}
        self._procs: list[Any] = []
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._follow, name="api-reader", daemon=True)

    def __enter__(self) -> Self:
        env = worker_env(self.settings, FOLIO_API_RATE_LIMIT_PER_MINUTE="1000000000")
        port = pick_port(18900)
        self.base_url = f"http://127.0.0.1:{port}"
        api = serve(["--factory", "folio_api.app:create_app"], env, port, 1, self.logs / "api.log")
        ocr = WorkerProcess(
            ["folio_worker_ocr.main", "-p", "1", "--queues", *OCR_QUEUES],
            env,
            self.logs / "ocr-0.log",
        )
        scheduler = subprocess.Popen(
            [sys.executable, "-c", "from folio_scheduler.cli import run; run()"],
            env=env,
            stdout=(self.logs / "scheduler.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        self._procs = [api, ocr, scheduler]
        return self

    def measure(self) -> None:
        """Start sampling each service's RSS and following the documents."""
        for name, pid in zip(self.NAMES, (p.pid for p in self._popens()), strict=True):
            self.rss[name] = PeakRss(pid).__enter__()
        self._reader.start()

    def _popens(self) -> list[Any]:
        api, ocr, scheduler = self._procs
        return [api, ocr.proc, scheduler]

    def _follow(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as client:
            i = 0
            while not self._stop.wait(1 / self.rate):
                if not self.documents:
                    continue
                document = self.documents[i % len(self.documents)]
                i += 1
                try:
                    ok = client.get(f"/v1/documents/{document}").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.reads += 1
                self.read_errors += not ok

    def alive(self) -> list[str]:
        """Names of the services that exited early."""
        polls = zip(self.NAMES, self._popens(), strict=True)
        return [name for name, proc in polls if proc.poll() is not None]

    def report(self) -> str:
        lines = [f"peak RSS {name}: {rss.peak_mib:.0f} MiB" for name, rss in self.rss.items()]
        lines.append(f"API document reads: {self.reads} ({self.read_errors} not 200)")
        return "\n".join(lines)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._reader.is_alive():
            self._reader.join(timeout=35)
        for rss in self.rss.values():
            rss.__exit__(None, None, None)
        if not self._procs:
            return
        api, ocr, scheduler = self._procs
        stop(api)
        ocr.close()
        stop(scheduler)
