"""Loopback ports: is one free, pick a free one near a preferred port, and
which process listens on one."""

from __future__ import annotations

import os
import socket
from pathlib import Path

#: Ports that belong to other programs on a developer's machine (a system
#: PostgreSQL and Redis); the tooling never binds them.
RESERVED_PORTS = frozenset({5432, 6379})

LOOPBACK = "127.0.0.1"


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when nothing listens on ``host:port`` and it can be bound."""
    if port in RESERVED_PORTS:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) != 0


def pick_port(preferred: int, *, exclude: frozenset[int] = frozenset()) -> int:
    """``preferred`` when free, else the next free port among the following 100,
    else one the kernel chooses. ``exclude``: ports already handed out."""
    for port in range(preferred, preferred + 100):
        if port not in exclude and port_is_free(port):
            return port
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
        if port not in exclude and port not in RESERVED_PORTS:
            return port


def port_accepts(port: int, host: str = LOOPBACK, timeout_s: float = 0.2) -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        return sock.connect_ex((host, port)) == 0


def listens(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds a TCP socket listening on ``port`` (IPv4),
    read from Linux's ``/proc``; ``None`` where ``/proc`` cannot tell."""
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    sockets = set()
    for line in table:
        fields = line.split()
        # local address (hex ip:port), remote, state (0A: LISTEN), ..., inode
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            sockets.add(f"socket:[{fields[9]}]")
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in sockets:
                return True
        except OSError:
            continue
    return False
