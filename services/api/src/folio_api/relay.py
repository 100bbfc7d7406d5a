"""The API's outbox relay loop.

Jobs the API could not send at once (Redis down) stay ``pending`` in
PostgreSQL. Every ``interval_s`` (default 2 s) this loop sends those older
than the relay's minimum age with :func:`folio_shared.jobs.outbox.relay`;
rows are locked ``FOR NO KEY UPDATE SKIP LOCKED`` before they are sent, as
a dispatch locks its own, so any number of API replicas (and the workers'
reconciler, and the sends right after a commit) can run side by side
without sending a job twice. Failures (database or broker down) are logged and retried at the
next tick; the loop ends only when cancelled.
"""

from __future__ import annotations

import asyncio

import dramatiq
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.jobs import outbox
from folio_shared.jobs.send import AsyncSender
from folio_shared.logging import get_logger

log = get_logger(__name__)


async def relay_once(
    engine: AsyncEngine,
    broker: dramatiq.Broker,
    *,
    min_age_ms: int,
    sender: AsyncSender,
) -> int:
    """One pass of the relay; returns how many jobs were sent (with
    ``sender``: a Redis that hangs must not stall the API's event loop)."""
    async with engine.connect() as conn:
        return await outbox.relay(conn, broker, min_age_ms=min_age_ms, sender=sender)


async def run_relay(
    engine: AsyncEngine,
    broker: dramatiq.Broker,
    *,
    interval_s: float = 2.0,
    min_age_ms: int = 2_000,
    sender: AsyncSender,
) -> None:
    """Relay pending jobs every ``interval_s`` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await relay_once(engine, broker, min_age_ms=min_age_ms, sender=sender)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the next tick tries again
            log.warning("API outbox relay pass failed", error=repr(e))
