"""Peak resident memory of a process tree, sampled in a thread (for the
benchmarks that report the memory of the services they run)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

import psutil


class PeakRss:
    """Samples every ``interval_s`` the RSS of ``pid`` and all its
    descendants (a supervisor, its worker processes and their isolated
    children); ``peak_mib`` is the largest sum seen, ``largest_mib`` the
    largest single process."""

    def __init__(self, pid: int, interval_s: float = 0.2) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak_mib = 0.0
        self.largest_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            sizes = []
            for proc in procs:
                try:
                    sizes.append(proc.memory_info().rss / 2**20)
                except psutil.NoSuchProcess:
                    continue
            if sizes:
                self.peak_mib = max(self.peak_mib, sum(sizes))
                self.largest_mib = max(self.largest_mib, max(sizes))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
