"""Merge the output of several child processes into one terminal, line by
line, each line prefixed with the process's name (``api | ...``) in its own colour."""

from __future__ import annotations

import os
import selectors
import sys
import time
from typing import IO, TextIO

_COLOURS = ("36", "35", "33", "32", "34", "91", "96", "95")
_RESET = "\033[0m"


def use_colour(stream: TextIO) -> bool:
    """Colour when writing to a terminal, unless ``NO_COLOR``; ``FORCE_COLOR`` forces it."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


class LogMux:
    """Reads the registered pipes and writes whole lines, prefixed, to ``out``.

    - ``out``: where lines go (default ``sys.stdout``).
    - ``width``: prefix width in characters (default 12).
    - ``colour``: colour the prefixes (default: :func:`use_colour` of ``out``).

    Partial lines are held until their newline arrives or the pipe closes.
    Single-threaded: call :meth:`pump` from the loop that owns the children.
    """

    def __init__(self, out: TextIO | None = None, *, width: int = 12, colour: bool | None = None):
        self.out = out or sys.stdout
        self.width = width
        self.colour = use_colour(self.out) if colour is None else colour
        self._selector = selectors.DefaultSelector()
        self._partial: dict[int, bytes] = {}
        self._names: dict[int, str] = {}
        self._colour_of: dict[str, str] = {}

    def prefix(self, name: str) -> str:
        label = f"{name:<{self.width}}|"
        if not self.colour:
            return label
        code = self._colour_of.setdefault(name, _COLOURS[len(self._colour_of) % len(_COLOURS)])
        return f"\033[{code}m{label}{_RESET}"

    def say(self, name: str, line: str) -> None:
        """Write one line under ``name``."""
        self.out.write(f"{self.prefix(name)} {line}\n")
        self.out.flush()

    def add(self, name: str, pipe: IO[bytes]) -> None:
        """Follow ``pipe`` (a child's stdout) under ``name``."""
        fd = pipe.fileno()
        os.set_blocking(fd, False)
        self._names[fd] = name
        self._partial[fd] = b""
        self._selector.register(fd, selectors.EVENT_READ)

    def pump(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for output and write the complete lines."""
        if not self._names:
            time.sleep(timeout_s)
            return
        for key, _events in self._selector.select(timeout_s):
            fd = int(key.fd)
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self._close(fd)
                continue
            data = self._partial[fd] + chunk
            *lines, self._partial[fd] = data.split(b"\n")
            for line in lines:
                self.say(self._names[fd], line.decode("utf-8", "replace").rstrip("\r"))

    def drain(self, timeout_s: float = 1.0) -> None:
        """Write what is left in the pipes (after the children exited), then close them."""
        deadline = time.monotonic() + timeout_s
        while self._names and time.monotonic() < deadline:
            self.pump(0.05)
        for fd in list(self._names):
            self._close(fd)

    def _close(self, fd: int) -> None:
        rest = self._partial.pop(fd, b"")
        name = self._names.pop(fd)
        if rest:
            self.say(name, rest.decode("utf-8", "replace"))
        self._selector.unregister(fd)
