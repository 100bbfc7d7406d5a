"""The child side of :class:`~folio_shared.isolation.IsolatedPool`: the loop
each child process runs under its limits.

A child sets its address-space limit (``RLIMIT_AS``), runs its initializer,
then for each ``(fn, args)`` it receives re-arms its CPU-time limit
(``RLIMIT_CPU``), calls the function and sends back the encoded reply
(:mod:`folio_shared.isolation_wire`). Out of memory, it exits with
:data:`EXIT_MEMORY` so the parent can tell that death from others.
"""

from __future__ import annotations

import math
import resource
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from folio_shared.isolation_wire import encode_reply

#: Exit code of a child that ran out of memory (``MemoryError``), so the
#: parent can tell it from other deaths.
EXIT_MEMORY = 75


def child_main(
    conn: Connection,
    memory_limit_bytes: int | None,
    cpu_time_limit_s: float | None,
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
) -> None:
    """Loop of one child: receive ``(fn, args)``, send the encoded reply."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when children stop
    if memory_limit_bytes is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    try:
        if initializer is not None:
            initializer(*initargs)
    except MemoryError:
        conn.close()
        raise SystemExit(EXIT_MEMORY) from None
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone or closed the pool
        if task is None:
            return
        fn, args = task
        if cpu_time_limit_s is not None:
            _set_cpu_limit(cpu_time_limit_s)
        try:
            reply = encode_reply(fn, lambda: fn(*args))  # noqa: B023 - called at once
        except MemoryError:
            conn.close()
            raise SystemExit(EXIT_MEMORY) from None
        conn.send_bytes(reply)


def _set_cpu_limit(limit_s: float) -> None:
    """Allow ``limit_s`` more CPU seconds from now (``RLIMIT_CPU`` counts a lifetime)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used_s = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used_s + limit_s)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
