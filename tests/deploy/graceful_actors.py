"""A slow test actor on worker-docs's real broker, for the graceful-shutdown test.

Imported by the worker process that ``test_graceful_shutdown.py`` starts
(``PYTHONPATH`` holds this folder). It imports ``folio_worker_docs.main`` first,
so the worker runs worker-docs's own broker, middleware stack and actors, and
this actor rides on top of them. Each run records its token in Redis when it
starts and when it finishes, so the test can tell a finished job from a lost
one.
"""

from __future__ import annotations

import os
import time

import dramatiq
import redis

from folio_shared.messages import Queue
from folio_worker_docs.main import broker

#: The queue of the test actor: one worker-docs consumes, so the worker's own
#: queue selection applies (the test runs in a namespace of its own).
QUEUE = Queue.MAINTENANCE.value


def record_key(namespace: str, event: str) -> str:
    """The Redis list where runs record ``event`` (``started`` or ``done``)."""
    return f"{namespace}:deploy-test:{event}"


@dramatiq.actor(actor_name="deploy.slow", queue_name=QUEUE, max_retries=0, broker=broker)
def slow(token: str, seconds: float) -> None:
    """Record ``token`` as started, sleep ``seconds``, record it as done."""
    client = redis.Redis.from_url(os.environ["FOLIO_REDIS_URL"])
    namespace = os.environ["FOLIO_BROKER_NAMESPACE"]
    try:
        client.rpush(record_key(namespace, "started"), token)
        time.sleep(seconds)
        client.rpush(record_key(namespace, "done"), token)
    finally:
        client.close()
