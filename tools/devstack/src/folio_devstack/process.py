"""Child processes that the tooling owns: start in their own process group,
die with their parent, stop with a signal then SIGKILL after a timeout.

:class:`ChildServer` is the base of the servers in :mod:`folio_devstack.servers`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from folio_devstack.errors import ServerStartFailed

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when the
    thread that started it exits (so a killed runner leaves no orphan server).

    ``None`` off Linux. The library is loaded here, in the parent, so the
    child only makes one system call between fork and exec.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sig)

    return preexec


def tail(path: Path | None, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file ('' when there is none)."""
    if path is None or not path.exists():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class ChildServer:
    """A server run as a child process and waited on until it is ready.

    Subclasses give the command (:meth:`command`), the readiness probe
    (:meth:`is_ready`) and optional preparation (:meth:`prepare`).

    Options:

    - ``log_path``: file that receives the server's stdout and stderr
      (appended; ``None`` discards them). Default: per subclass.
    - ``start_timeout_s``: how long :meth:`start` waits for readiness before
      it kills the server and raises :class:`ServerStartFailed` (default 60 s).
    - ``stop_timeout_s``: how long :meth:`stop` waits after the stop signal
      before it sends SIGKILL to the whole process group (default 15 s).
    - ``die_with_parent``: ask the kernel to stop the server when the thread
      that started it exits (Linux only; default true). Start servers from a
      long-lived thread (the main thread) when this is on.

    Class attribute ``stop_signal``: the graceful stop signal (SIGTERM unless
    the server treats another one as "shut down now").

    Every server runs in its own process group, so a Ctrl-C in the terminal
    reaches the tool that owns it, which then stops it in order.
    """

    name: ClassVar[str] = "server"
    port: int
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    poll_interval_s: ClassVar[float] = 0.05

    def __init__(
        self,
        *,
        log_path: Path | None,
        start_timeout_s: float = 60.0,
        stop_timeout_s: float = 15.0,
        die_with_parent: bool = True,
    ) -> None:
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.die_with_parent = die_with_parent
        self._proc: subprocess.Popen[bytes] | None = None

    # --- subclass hooks --------------------------------------------------------

    def command(self) -> Sequence[str]:
        """The server's command line."""
        raise NotImplementedError

    def is_ready(self) -> bool:
        """True once the server answers requests."""
        raise NotImplementedError

    def is_own(self) -> bool:
        """True when what answers on the port is this server, not another
        one that holds the port (it answers :meth:`is_ready` too). The
        default cannot tell and says true."""
        return True

    def prepare(self) -> None:
        """Create data directories, initialise a cluster, ... (before start)."""

    def popen_options(self) -> dict[str, Any]:
        """Extra :class:`subprocess.Popen` keyword arguments (user, cwd, env)."""
        return {}

    # --- lifecycle ---------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        """True while the server's process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        """Start the server and wait until it is ready; no-op when running."""
        if self.running:
            return self
        self.prepare()
        self._proc = self._spawn()
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            code = self._proc.poll()
            if code is not None:
                raise ServerStartFailed(
                    f"{self.name} exited with status {code} while starting" + self._log_hint(),
                    server=self.name,
                    exit_code=code,
                )
            # Another program on the port answers too: only our own server
            # is ready (ours then fails to bind and exits, or times out).
            if self.is_ready() and self.is_own():
                return self
            if time.monotonic() > deadline:
                self.kill()
                raise ServerStartFailed(
                    f"{self.name} was not ready after {self.start_timeout_s:g} s"
                    + self._log_hint(),
                    server=self.name,
                )
            time.sleep(self.poll_interval_s)

    def stop(self) -> None:
        """Send the stop signal, wait ``stop_timeout_s``, then SIGKILL the group."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(self.stop_signal)
            try:
                proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self._killpg(proc)
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the server's whole process group at once (a crash, on purpose)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._killpg(proc)
        self._proc = None

    def restart(self) -> Self:
        """Stop gracefully, then start again on the same port and data."""
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- internals -----------------------------------------------------------------

    def _spawn(self) -> subprocess.Popen[bytes]:
        options = self.popen_options()
        preexec = die_with_parent(self.stop_signal) if self.die_with_parent else None
        if self.log_path is None:
            return subprocess.Popen(
                list(self.command()),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                process_group=0,
                preexec_fn=preexec,
                **options,
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                list(self.command()),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=preexec,
                **options,
            )

    @staticmethod
    def _killpg(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def _log_hint(self) -> str:
        text = tail(self.log_path)
        return f"; last lines of {self.log_path}:\n{text}" if text else ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pid={self.pid}>"
