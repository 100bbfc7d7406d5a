"""Raw Dramatiq for comparison: a plain ``RedisBroker`` with Dramatiq's default
middleware and the same no-op actor (``python -m dramatiq dramatiq_worker``).

``BENCH_REDIS_URL`` names the Redis; the namespace is Dramatiq's default.
"""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

#: The queue the raw Dramatiq benchmark uses.
QUEUE = "bench"

broker = RedisBroker(url=os.environ["BENCH_REDIS_URL"])  # type: ignore[no-untyped-call]
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="bench.noop", queue_name=QUEUE, broker=broker)
def noop() -> None:
    return None
