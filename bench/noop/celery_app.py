"""Celery for comparison: the Redis broker, no result backend, a no-op task.

``task_acks_late`` is on so that, like Dramatiq and Folio, a message is
acknowledged after its task ran (at-least-once); ``BENCH_REDIS_URL`` names
the Redis.
"""

from __future__ import annotations

import os

from celery import Celery

#: The queue the Celery benchmark uses.
QUEUE = "bench"

app = Celery("bench", broker=os.environ["BENCH_REDIS_URL"])
app.conf.update(
    task_acks_late=True,
    task_ignore_result=True,
    task_default_queue=QUEUE,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="bench.noop")  # type: ignore[untyped-decorator]
def noop() -> None:
    return None
