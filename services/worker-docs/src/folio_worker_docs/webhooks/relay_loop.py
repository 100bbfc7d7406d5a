"""The relay loop of worker-docs: due webhook deliveries, every interval.

A thread of its own (like the job engine's heartbeat) wakes every
``FOLIO_WEBHOOKS_RELAY_INTERVAL_MS`` and runs
:func:`folio_shared.webhooks.relay.relay` on the worker's event loop. Every
worker runs it; ``SKIP LOCKED`` shares the due rows between them.
"""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from folio_shared.logging import get_logger
from folio_shared.resources import resources
from folio_shared.webhooks.relay import relay

log = get_logger(__name__)


class WebhookRelay(Middleware):
    """Sends the messages of due webhook deliveries from a thread.

    - ``interval_ms``: how often (default ``FOLIO_WEBHOOKS_RELAY_INTERVAL_MS``).
    """

    def __init__(self, interval_ms: int | None = None) -> None:
        self.interval_ms = interval_ms
        self._stop = threading.Event()
        self._broker: dramatiq.Broker | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._broker = broker
        self._stop.clear()
        threading.Thread(target=self._loop, name="folio-webhook-relay", daemon=True).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._stop.set()

    def _loop(self) -> None:
        interval_ms = self.interval_ms or resources().settings.webhooks.relay_interval_ms
        interval_s = interval_ms / 1000
        while not self._stop.wait(interval_s):
            loop = get_event_loop_thread()
            if loop is None or self._broker is None:
                continue
            try:
                loop.run_coroutine(self._once())
            except Exception as e:
                log.warning("webhook relay failed", error=repr(e))

    async def _once(self) -> None:
        assert self._broker is not None
        async with resources().engine.connect() as conn:
            await relay(conn, self._broker)
