"""Container health checks for Folio's images (stdlib only, no shell needed).

Used by the Dockerfiles' ``HEALTHCHECK`` and by the Kubernetes exec probes:

- ``healthcheck.py http URL``: exit 0 when ``URL`` answers 2xx within
  ``--timeout-s`` (default 3 s). The API image checks ``/healthz``.
- ``healthcheck.py worker``: exit 0 when the container's main process (PID 1,
  Dramatiq's parent process) has at least ``--min-children`` (default 1)
  live, non-zombie child processes: its worker processes. Dramatiq's
  parent exits when a worker process dies, so this fails only while a worker
  is still booting or after something stopped it without the parent noticing.
  Workers have no HTTP port of their own yet; once they serve metrics the
  probes can become ``httpGet`` checks on that port.
- ``healthcheck.py process``: exit 0 while the main process (PID 1) is
  running, i.e. neither a zombie nor stopped. The scheduler (periodiq, one
  process) uses it.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from pathlib import Path

PROC = Path("/proc")


def check_http(url: str, timeout_s: float) -> bool:
    """Whether ``url`` answers with a 2xx status within ``timeout_s``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (probe URL)
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def live_children(parent_pid: int, proc: Path = PROC) -> int:
    """How many live (non-zombie) processes have ``parent_pid`` as parent."""
    count = 0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # Format: "pid (comm) state ppid ...": comm may hold spaces and parens.
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) >= 2 and fields[0] != "Z" and fields[1] == str(parent_pid):
            count += 1
    return count


def running(pid: int, proc: Path = PROC) -> bool:
    """Whether process ``pid`` exists and is neither a zombie nor stopped."""
    try:
        text = (proc / str(pid) / "stat").read_text()
    except OSError:
        return False
    state = text[text.rfind(")") + 2 :].split()[0]
    return state not in {"Z", "T", "X"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    http = sub.add_parser("http", help="check that a URL answers 2xx")
    http.add_argument("url")
    http.add_argument("--timeout-s", type=float, default=3.0)
    worker = sub.add_parser("worker", help="check that PID 1 has live worker processes")
    worker.add_argument("--pid", type=int, default=1)
    worker.add_argument("--min-children", type=int, default=1)
    process = sub.add_parser("process", help="check that PID 1 is running")
    process.add_argument("--pid", type=int, default=1)
    args = parser.parse_args(argv)
    if args.kind == "http":
        healthy = check_http(args.url, args.timeout_s)
    elif args.kind == "process":
        healthy = running(args.pid)
    else:
        healthy = live_children(args.pid) >= args.min_children
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
