"""Timestamps of one Folio worker process's life per message, for
``bench/job_timeline.py`` (installed by ``folio_worker.py`` when
``BENCH_TIMELINE_OUT`` names a file).

It records, with ``time.perf_counter()`` (one clock for every thread):

- per message handed out by a consumer: when ``__next__`` returned it, and
  every ``None`` the consumer returned (a sleep or an empty poll) with how
  long that call took;
- per worker thread and message: the start of its ``before_process_message``
  signal (the probe is the first middleware), the claim hand-off (called,
  returned), the outcome hand-off, the end of ``after_process_message`` (the
  probe's after-hook runs last) and the end of the ack (``after_ack``);
- per bookkeeping round: start, end, claims and outcomes in it, and the
  event-loop thread's CPU time while it was in flight.

The records are written as JSON lines to the file at the worker's shutdown.
Bench-only: it wraps instances of the running worker, never Folio's code.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from folio_shared.jobs.middleware import JobTracking
from folio_shared.jobs.store_batch import ClaimRequest
from folio_shared.resources import OnShutdown

now = time.perf_counter


class _Probe(Middleware):
    def __init__(self, out: list[tuple[Any, ...]]) -> None:
        self.out = out

    def before_process_message(self, broker: Any, message: Any) -> None:
        self.out.append(("start", threading.get_ident(), message.message_id, now()))

    def after_process_message(self, broker: Any, message: Any, **kwargs: Any) -> None:
        self.out.append(("done", threading.get_ident(), message.message_id, now()))

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self.out.append(("skip", threading.get_ident(), message.message_id, now()))

    def after_ack(self, broker: Any, message: Any) -> None:
        self.out.append(("ack", threading.get_ident(), message.message_id, now()))


class _ConsumerProbe:
    """Delegates to a consumer; records what its ``__next__`` returns."""

    def __init__(self, consumer: Any, queue: str, out: list[tuple[Any, ...]]) -> None:
        self._consumer = consumer
        self._queue = queue
        self._out = out

    def __iter__(self) -> _ConsumerProbe:
        return self

    def __next__(self) -> Any:
        t0 = now()
        message = next(self._consumer)
        t1 = now()
        ident = None if message is None else message.message_id
        self._out.append(("next", self._queue, ident, t0, t1))
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


def install(broker: dramatiq.Broker, path: str) -> None:
    out: list[tuple[Any, ...]] = []
    broker.middleware.insert(0, _Probe(out))
    consume = broker.consume

    def probed_consume(queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        out.append(("consumer", queue_name, prefetch, timeout, now()))
        return _ConsumerProbe(consume(queue_name, prefetch, timeout), queue_name, out)

    broker.consume = probed_consume  # type: ignore[method-assign]
    tracking = next(m for m in broker.middleware if isinstance(m, JobTracking))
    book = tracking.bookkeeper
    rounds = book.rounds
    run = rounds._run

    async def probed_run(requests: Any) -> Any:
        claims = sum(1 for r in requests if isinstance(r, ClaimRequest))
        t0, c0 = now(), time.thread_time()
        try:
            return await run(requests)
        finally:
            cpu = time.thread_time() - c0  # the loop thread's CPU meanwhile
            out.append(("round", claims, len(requests) - claims, t0, now(), cpu))

    rounds._run = probed_run
    for name, kind in (
        ("claim_from_thread", "claim"),
        ("claimed", "claim"),  # a claim made as the message was fetched
        ("record_from_thread", "outcome"),
        ("record_later", "outcome"),  # a success handed over: its ack waits, not the thread
    ):
        original = getattr(book, name)

        def probed(*args: Any, _original: Any = original, _kind: str = kind, **kw: Any) -> Any:
            t0 = now()
            try:
                return _original(*args, **kw)
            finally:
                out.append((_kind, threading.get_ident(), None, t0, now()))

        setattr(book, name, probed)

    def save() -> None:
        tmp = Path(path + ".tmp")  # renamed when complete: the reader waits for the name
        with tmp.open("w") as f:
            for record in list(out):
                f.write(json.dumps(record) + "\n")
        tmp.replace(path)

    broker.add_middleware(OnShutdown(save))
