"""How long a search query's message waits before an idle consumer takes it.

Starts a Redis of its own and, per way of waiting, one consumer of
``queries.high`` (prefetch 1, as a worker-docs thread) idling in a thread.
After an idle gap of ``--min-idle-ms`` to ``--max-idle-ms`` (random, so
Dramatiq's backoff is at any step) it sends one message and measures from
the send to the consumer's ``next()`` returning it. The ways alternate
message by message:

- ``wake``: Folio's broker (``FolioRedisBroker``, ``query_poll_ms`` 50):
  the consumer waits on the queue's wake-up list (ADR 0010);
- ``poll50``: Dramatiq's own consumer with a 50 ms idle ceiling (the
  fallback poll of ``wake``, without the wake-up list);
- ``dramatiq``: Dramatiq's own consumer with its worker's 1 s idle ceiling
  (``worker_timeout``), what a queue without Folio's broker gets.

Prints p50 / p95 / max per way, in milliseconds.

    .venv/bin/python bench/query_wake_latency.py --messages 40
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from folio_devstack.ports import pick_port
from folio_devstack.servers import RedisServer
from folio_shared.broker import FolioRedisBroker

QUEUE = "queries.high"
WAYS = ("wake", "poll50", "dramatiq")


def _consumer(way: str, url: str, namespace: str) -> tuple[Any, Any]:
    if way == "wake":
        broker: RedisBroker = FolioRedisBroker(
            url=url, namespace=namespace, middleware=[], query_poll_ms=50
        )
        timeout = 1000
    else:
        broker = RedisBroker(url=url, namespace=namespace, middleware=[])  # type: ignore[no-untyped-call]
        timeout = 50 if way == "poll50" else 1000
    broker.declare_queue(QUEUE)
    return broker, broker.consume(QUEUE, prefetch=1, timeout=timeout)


def _one(way: str, url: str, idle_s: float) -> float:
    """Milliseconds from the send to the idle consumer holding the message."""
    namespace = f"wake-{uuid.uuid4().hex[:8]}"
    worker_broker, consumer = _consumer(way, url, namespace)
    sender = FolioRedisBroker(url=url, namespace=namespace, middleware=[])
    sender.declare_queue(QUEUE)
    got: list[float] = []

    def run() -> None:
        deadline = time.monotonic() + idle_s + 10
        while time.monotonic() < deadline:
            proxy = next(consumer)
            if proxy is not None:
                got.append(time.monotonic())
                consumer.ack(proxy)
                return

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(idle_s)
    message: dramatiq.Message[object] = dramatiq.Message(
        queue_name=QUEUE, actor_name="queries.embed.v1", args=("q",), kwargs={}, options={}
    )
    sent_at = time.monotonic()
    if way == "wake":
        sender.enqueue(message)
    else:
        RedisBroker.enqueue(sender, message)  # no wake-up token
    thread.join()
    worker_broker.close()
    sender.close()
    return (got[0] - sent_at) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=40, help="messages per way")
    parser.add_argument("--min-idle-ms", type=int, default=300)
    parser.add_argument("--max-idle-ms", type=int, default=2500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="folio-wake-") as tmp:
        server = RedisServer(pick_port(random.randint(40_001, 60_000)), Path(tmp), appendonly=False)
        server.start()
        try:
            waits: dict[str, list[float]] = {way: [] for way in WAYS}
            for _ in range(args.messages):
                for way in WAYS:
                    idle_s = random.uniform(args.min_idle_ms, args.max_idle_ms) / 1000
                    waits[way].append(_one(way, server.url, idle_s))
        finally:
            server.stop()
    for way, ms in waits.items():
        ms.sort()
        p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
        print(
            f"{way:9s} n={len(ms)} p50 {statistics.median(ms):7.2f} ms"
            f"  p95 {p95:7.2f} ms  max {ms[-1]:7.2f} ms  mean {statistics.fmean(ms):7.2f} ms"
        )


if __name__ == "__main__":
    main()
