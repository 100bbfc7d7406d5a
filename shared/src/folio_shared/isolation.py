"""Run untrusted work (parsing, rendering, OCR) in child processes with limits.

A bomb, a hang or a crash inside a C library must cost one child process,
never the worker: :class:`IsolatedPool` keeps ``workers`` child processes,
each with an address-space limit (``RLIMIT_AS``) and a CPU-time limit per task
(``RLIMIT_CPU``), and kills a child that runs past its wall-time limit.

The calling thread waits on the child's pipe with ``Connection.poll``, which
releases the GIL: the worker's other threads (broker heartbeats, consumers)
keep running however long the child computes. A dead child is replaced by a
fresh one on the next call; the pool itself never breaks (unlike
``concurrent.futures.ProcessPoolExecutor``, which a dead child poisons).

Children are started with the ``forkserver`` method (never ``fork``: the
worker's threads and sockets are not copied into them), with a scrubbed
environment (no database URL, no S3 keys). Functions and their arguments
must be picklable, i.e. module-level functions; their results must encode
with msgspec and are decoded in the parent as the function's return
annotation says — the parent never unpickles what a child sends
(:mod:`folio_shared.isolation_wire`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from folio_shared.errors import (
    ChildCrashed,
    ChildRaised,
    ChildReplyUnreadable,
    ChildTimedOut,
    IsolationError,
    PoolClosed,
)
from folio_shared.isolation_child import EXIT_MEMORY, child_main
from folio_shared.isolation_wire import MAX_REPLY_BYTES, decode_reply, scrubbed_environ

T = TypeVar("T")

#: How often a cancellable call looks at its cancel flag, in seconds.
_CANCEL_POLL_S = 0.05

# --- the parent side -----------------------------------------------------------


#: Held while a child process starts (the environment is scrubbed meanwhile).
_STARTING = threading.Lock()
#: Modules the forkserver imports before forking (every pool's ``preload``).
_PRELOAD: set[str] = set()


class _Slot:
    """One child process and the parent's end of its pipe."""

    def __init__(self) -> None:
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.tasks = 0


class IsolatedPool:
    """A fixed number of child processes that run functions under limits.

    Options (all keyword-only except ``workers``):

    - ``workers``: child processes, i.e. calls running at once (required,
      at least 1). More concurrent calls wait for a free child.
    - ``memory_limit_bytes``: address-space limit of each child
      (``RLIMIT_AS``), in bytes (default 1 GiB; ``None``: unlimited). An
      allocation past it fails; the child exits and the call raises
      :class:`ChildCrashed` with ``reason="out_of_memory"``.
    - ``cpu_time_limit_s``: CPU seconds one call may use (``RLIMIT_CPU``,
      re-armed before each call), in seconds (default 300; ``None``:
      unlimited). Past it the kernel kills the child: :class:`ChildTimedOut`
      with ``kind="cpu"``.
    - ``wall_time_limit_s``: wall-clock seconds one call may take before the
      child is killed with SIGKILL (default 300; ``None``: unlimited): raises
      :class:`ChildTimedOut` with ``kind="wall"``. ``run(timeout_s=...)``
      overrides it per call.
    - ``max_tasks_per_child``: calls after which a child is replaced by a
      fresh one, bounding leaks in native libraries (default 200; ``None``:
      never).
    - ``initializer`` / ``initargs``: a module-level function called once in
      each new child, after the limits are set, to build expensive state
      (an OCR engine) that later calls reuse (default none).
    - ``start_method``: ``"forkserver"`` (default) or ``"spawn"``.
    - ``preload``: modules the forkserver imports once, before it forks
      any child, so that a new child starts with them loaded instead of
      importing them itself (``forkserver`` only; default none). Python
      keeps one forkserver per process, started with the first child:
      the modules of every pool made before that count.

    :meth:`run` is synchronous and safe to call from many threads at once.
    A ``FolioError`` or built-in exception raised by the function is raised
    again in the caller, any other as :class:`ChildRaised`; a reply that is
    not of the function's return type raises :class:`ChildReplyUnreadable`
    and its child is killed. Use the pool as a context manager or call
    :meth:`close`.
    """

    def __init__(
        self,
        workers: int,
        *,
        memory_limit_bytes: int | None = 1024**3,
        cpu_time_limit_s: float | None = 300.0,
        wall_time_limit_s: float | None = 300.0,
        max_tasks_per_child: int | None = 200,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        start_method: str = "forkserver",
        preload: Sequence[str] = (),
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if max_tasks_per_child is not None and max_tasks_per_child < 1:
            raise ValueError("max_tasks_per_child must be at least 1 or None")
        self.workers = workers
        self.memory_limit_bytes = memory_limit_bytes
        self.cpu_time_limit_s = cpu_time_limit_s
        self.wall_time_limit_s = wall_time_limit_s
        self.max_tasks_per_child = max_tasks_per_child
        self._initializer = initializer
        self._initargs = initargs
        self._ctx = multiprocessing.get_context(start_method)
        if preload and start_method == "forkserver":
            _PRELOAD.update(preload)
            self._ctx.set_forkserver_preload(sorted(_PRELOAD))
        self._idle: queue.Queue[_Slot] = queue.Queue()
        self._slots = [_Slot() for _ in range(workers)]
        for slot in self._slots:
            self._idle.put(slot)
        self._closed = False
        self._lock = threading.Lock()

    # -- public -------------------------------------------------------------

    def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        timeout_s: float | None = None,
        cancel: threading.Event | None = None,
        retire_if: Callable[[T], bool] | None = None,
    ) -> T:
        """Call ``fn(*args)`` in a child and return its result.

        ``timeout_s`` (seconds) replaces ``wall_time_limit_s`` for this call.
        ``cancel`` set: the child is killed at once (a call still waiting
        for a child gives up), :class:`ChildTimedOut` with ``kind="cancelled"``.
        ``retire_if(result)`` true: the child is replaced after the call.
        Raises :class:`ChildTimedOut`, :class:`ChildCrashed`,
        :class:`PoolClosed`, or whatever ``fn`` raised.
        """
        limit_s = self.wall_time_limit_s if timeout_s is None else timeout_s
        slot = self._acquire(cancel)
        try:
            value: T = self._run_in(slot, fn, args, limit_s, cancel)
            if retire_if is not None and retire_if(value):
                self._retire(slot)
            return value
        finally:
            self._idle.put(slot)

    async def run_async(
        self,
        fn: Callable[..., T],
        *args: Any,
        timeout_s: float | None = None,
        retire_if: Callable[[T], bool] | None = None,
    ) -> T:
        """:meth:`run` from a coroutine, on a thread of its own. Cancelling
        the coroutine (a job's time limit does) kills the child and frees
        its slot before the cancellation goes on: no thread keeps waiting on
        a child whose job is over."""
        cancel = threading.Event()
        run = functools.partial(self.run, timeout_s=timeout_s, cancel=cancel, retire_if=retire_if)
        call = asyncio.ensure_future(asyncio.to_thread(run, fn, *args))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            cancel.set()
            with contextlib.suppress(BaseException):
                await call
            raise

    def start(self) -> None:
        """Start every child now instead of on first use (warms initializers)."""
        slots = [self._acquire() for _ in range(self.workers)]
        try:
            for slot in slots:
                self._ensure_started(slot)
        finally:
            for slot in slots:
                self._idle.put(slot)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the children (politely, then SIGKILL after ``timeout_s``)."""
        with self._lock:
            self._closed = True
        deadline = time.monotonic() + timeout_s
        for slot in self._slots:
            if slot.conn is not None:
                with contextlib.suppress(OSError, ValueError):
                    slot.conn.send(None)
        for slot in self._slots:
            if slot.process is not None:
                slot.process.join(max(0.0, deadline - time.monotonic()))
            self._kill(slot)

    def pids(self) -> list[int]:
        """Process ids of the children running now (for tests and metrics)."""
        return [
            s.process.pid
            for s in self._slots
            if s.process is not None and s.process.pid is not None and s.process.is_alive()
        ]

    def __enter__(self) -> IsolatedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------

    def _acquire(self, cancel: threading.Event | None = None) -> _Slot:
        if self._closed:
            raise PoolClosed("the isolated pool is closed")
        while True:
            try:
                slot = self._idle.get(timeout=_CANCEL_POLL_S if cancel else None)
                break
            except queue.Empty:
                if cancel is not None and cancel.is_set():
                    msg = "cancelled while waiting for a child"
                    raise ChildTimedOut(msg, kind="cancelled") from None
        if self._closed:
            self._idle.put(slot)
            raise PoolClosed("the isolated pool is closed")
        return slot

    def _ensure_started(self, slot: _Slot) -> None:
        if slot.process is not None and slot.process.is_alive() and slot.conn is not None:
            return
        self._kill(slot)
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(  # type: ignore[attr-defined]
            target=child_main,
            args=(
                child_conn,
                self.memory_limit_bytes,
                self.cpu_time_limit_s,
                self._initializer,
                self._initargs,
            ),
            name="folio-isolated",
            daemon=True,
        )
        with _STARTING, scrubbed_environ():
            process.start()
        child_conn.close()
        slot.process, slot.conn, slot.tasks = process, parent_conn, 0

    def _run_in(
        self,
        slot: _Slot,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        limit_s: float | None,
        cancel: threading.Event | None = None,
    ) -> Any:
        self._ensure_started(slot)
        assert slot.conn is not None
        assert slot.process is not None
        conn, process = slot.conn, slot.process
        try:
            conn.send((fn, args))
            ready = _wait(conn, limit_s, cancel)
        except (OSError, EOFError):
            ready = True  # the child died before or while reading; recv reports it
        if not ready:
            pid = process.pid
            self._kill(slot)
            if cancel is not None and cancel.is_set():
                raise ChildTimedOut("cancelled: the child was killed", pid=pid, kind="cancelled")
            raise ChildTimedOut(
                f"the child ran longer than {limit_s} s and was killed",
                pid=pid,
                limit_s=limit_s,
                kind="wall",
            )
        try:
            data = conn.recv_bytes(MAX_REPLY_BYTES)
        except (EOFError, OSError):
            raise self._death(slot) from None
        try:
            value = decode_reply(fn, data)
        except ChildReplyUnreadable:
            self._kill(slot)  # not what a Folio child sends: do not reuse it
            raise
        finally:
            slot.tasks += 1
            limit = self.max_tasks_per_child
            if slot.process is not None and limit is not None and slot.tasks >= limit:
                self._retire(slot)
        return value

    def _death(self, slot: _Slot) -> IsolationError:
        """The error for a child whose pipe closed; the slot is reset."""
        process = slot.process
        assert process is not None
        process.join(5.0)
        exitcode, pid = process.exitcode, process.pid
        self._kill(slot)
        if exitcode == EXIT_MEMORY:
            return ChildCrashed(
                f"the child ran out of memory (limit {self.memory_limit_bytes} bytes)",
                pid=pid,
                exitcode=exitcode,
                reason="out_of_memory",
            )
        if exitcode is not None and exitcode < 0:
            signum = -exitcode
            if signum == signal.SIGXCPU:
                return ChildTimedOut(
                    f"the child used more than {self.cpu_time_limit_s} s of CPU and was killed",
                    pid=pid,
                    limit_s=self.cpu_time_limit_s,
                    kind="cpu",
                )
            return ChildCrashed(
                f"the child was killed by signal {signal.Signals(signum).name}",
                pid=pid,
                exitcode=exitcode,
                reason="signal",
            )
        return ChildCrashed(
            f"the child exited unexpectedly (exit code {exitcode})",
            pid=pid,
            exitcode=exitcode,
            reason="exit",
        )

    def _retire(self, slot: _Slot) -> None:
        """Ask a child that did its share to exit; its successor starts on next use."""
        if slot.conn is not None:
            with contextlib.suppress(OSError, ValueError):
                slot.conn.send(None)
            slot.conn.close()
        if slot.process is not None:
            slot.process.join(1.0)
        self._kill(slot)

    @staticmethod
    def _kill(slot: _Slot) -> None:
        """SIGKILL the slot's child if alive and forget it."""
        process, conn = slot.process, slot.conn
        slot.process, slot.conn, slot.tasks = None, None, 0
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()
        if process is None:
            return
        if process.is_alive():
            process.kill()
        process.join(5.0)
        with contextlib.suppress(ValueError):
            process.close()


def _wait(conn: Connection, limit_s: float | None, cancel: threading.Event | None) -> bool:
    """Whether the child answered within ``limit_s`` (false once ``cancel`` is set)."""
    if cancel is None:
        return conn.poll(limit_s)
    deadline = None if limit_s is None else time.monotonic() + limit_s
    while not cancel.is_set():
        left = _CANCEL_POLL_S if deadline is None else deadline - time.monotonic()
        if conn.poll(max(0.0, min(_CANCEL_POLL_S, left))):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
    return False


__all__ = ["ChildCrashed", "ChildRaised", "ChildTimedOut", "IsolatedPool", "IsolationError"]
__all__ += ["PoolClosed"]
