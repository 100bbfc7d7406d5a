"""The API's purge of idempotency keys past their 24 hours.

Every ``interval_s`` (default 10 min) each API process deletes the rows of
``idempotency_keys`` older than
:data:`~folio_api.domain.idempotency.middleware.RETENTION_S`, a thousand per
statement; replicas running it side by side delete each row once. Failures
are logged and retried at the next tick; the loop ends only when cancelled.
"""

from __future__ import annotations

import asyncio

import asyncpg

from folio_api.domain.idempotency import repository
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: How long a key's response is kept (and replayed), in seconds.
RETENTION_S = 24 * 3600


async def run_purge(pg: asyncpg.Pool, *, interval_s: float = 600.0) -> None:
    """Purge expired keys every ``interval_s`` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await repository.purge(pg, RETENTION_S)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the next tick tries again
            log.warning("idempotency key purge failed", error=repr(e))
