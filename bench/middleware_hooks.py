"""Middleware hook calls per message: Dramatiq's signal dispatch against
Folio's (``folio_shared.hooks``), on Folio's whole middleware stack.

For the signals a worker sends for every message (``before`` and ``after``
of ``process_message`` and ``ack``), prints how many middleware handle each
and how many inherited empty methods Dramatiq would call, then times both
dispatches of a signal that no middleware of the stack handles
(``before_ack``): what every skipped call costs. Builds the broker without
connecting to anything.

    .venv/bin/python bench/middleware_hooks.py --rounds 200000
"""

from __future__ import annotations

import argparse
import time

import dramatiq

from folio_shared.broker import create_broker
from folio_shared.hooks import handles
from folio_shared.settings import FolioSettings, RedisSettings

SIGNALS = ("before_process_message", "after_process_message", "before_ack", "after_ack")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200_000)
    args = parser.parse_args()
    settings = FolioSettings(env="test", redis=RedisSettings(url="redis://127.0.0.1:9/0"))
    broker = create_broker(settings)
    try:
        stack = broker.middleware
        skipped = 0
        for name in SIGNALS:
            n = sum(handles(m, name) for m in stack)
            skipped += len(stack) - n
            print(f"{name:24} {n:2d} of {len(stack)} middleware handle it")
        print(f"inherited empty hooks no longer called per message: {skipped}")
        timings = {}
        for label, emit in (
            ("Dramatiq", dramatiq.Broker.emit_before),
            ("Folio", type(broker).emit_before),
        ):
            started = time.perf_counter()
            for _ in range(args.rounds):
                emit(broker, "ack", None)
            timings[label] = (time.perf_counter() - started) / args.rounds * 1e6
            print(f"{label:8} emit_before('ack'): {timings[label]:.2f} µs a signal")
        per_hook = (timings["Dramatiq"] - timings["Folio"]) / len(stack)
        per_message = per_hook * skipped
        print(f"an inherited empty hook costs {per_hook:.2f} µs: {per_message:.1f} µs a message")
    finally:
        broker.close()


if __name__ == "__main__":
    main()
