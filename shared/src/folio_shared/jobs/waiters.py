"""How a request handed to the job engine's rounds is answered.

A worker thread hands its claim or outcome to the rounds of
:mod:`folio_shared.jobs.bookkeeper`, which run on the worker's event loop.
The round's end is told to the request's *resolver*:

- :class:`ThreadWaiter`: the thread waits for the result (a claim: the
  actor cannot run before it);
- :class:`Posted`: nobody waits; what must follow the round (the
  message's ack, see :mod:`folio_shared.jobs.acks`) is given to
  :meth:`Posted.when_done` and runs as the round ends, committed or not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from folio_shared.logging import get_logger

log = get_logger(__name__)

#: How often a waiting thread wakes to let Dramatiq's asynchronous
#: exceptions in (time limits, shutdown), as its ``run_coroutine`` does.
INTERRUPT_CHECK_S = 0.1

Res = TypeVar("Res")
_ResIn = TypeVar("_ResIn", contravariant=True)


class Resolver(Protocol[_ResIn]):
    """What a round tells of a request's end (an asyncio future is one)."""

    def done(self) -> bool: ...
    def set_result(self, result: _ResIn, /) -> None: ...
    def set_exception(self, exception: BaseException, /) -> None: ...


class ThreadWaiter(Generic[Res]):
    """A worker thread's wait for its request's result, resolved on the
    event loop. A thread interrupted while it waits (Dramatiq's time limit
    or shutdown) abandons its request: one not yet sent is dropped, one
    sent runs and its result is ignored (a claim then ends with its
    lease)."""

    __slots__ = ("_error", "_lock", "_result", "_set", "abandoned")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._set = False
        self._result: Any = None
        self._error: BaseException | None = None
        self.abandoned = False

    def done(self) -> bool:
        return self._set or self.abandoned

    def set_result(self, result: Res, /) -> None:
        self._result, self._set = result, True
        self._lock.release()

    def set_exception(self, exception: BaseException, /) -> None:
        self._error, self._set = exception, True
        self._lock.release()

    def peek(self) -> Res | None:
        """The result, once the round answered (``None`` before that, or
        when the round failed); never waits."""
        return self._result if self._set else None

    def wait(self, timeout_s: float | None = None) -> Res:
        """The result, once the round answered; with ``timeout_s``,
        :class:`TimeoutError` after that long (the request is then
        abandoned, as when the thread is interrupted)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        try:
            while not self._lock.acquire(timeout=INTERRUPT_CHECK_S):
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"no answer from the round within {timeout_s} s")
        except BaseException:
            self.abandoned = True
            raise
        if self._error is not None:
            raise self._error
        result: Res = self._result
        return result


class Posted:
    """A request nobody waits for. Once its round has ended, ``error`` is
    what the round raised (``None``: committed) and the callbacks given to
    :meth:`when_done` have run, each once, on the thread that ended the
    round (the event loop's), or at once on the caller's if it had
    already ended."""

    __slots__ = ("_callbacks", "_ended", "_lock", "error")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ended = False
        self._callbacks: list[Callable[[], None]] = []
        self.error: BaseException | None = None

    def done(self) -> bool:
        return self._ended

    def set_result(self, result: object, /) -> None:
        self._end(None)

    def set_exception(self, exception: BaseException, /) -> None:
        self._end(exception)

    def when_done(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the round has ended (now, if it has)."""
        with self._lock:
            if not self._ended:
                self._callbacks.append(callback)
                return
        callback()

    def _end(self, error: BaseException | None) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended, self.error = True, error
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception as e:  # never into the round that ended it
                log.warning("job bookkeeping follow-up failed", error=repr(e))
