"""Per-key rate limits, shared by every API replica through Redis.

A fixed one-minute window per key: ``INCR folio:ratelimit:<key id>:<minute>``
(expiring after the window) in one round trip. Past ``limit_per_minute``
requests the API answers 429 with ``Retry-After`` (seconds until the window
ends). Fixed windows let a client burst up to twice the limit across a
window edge; that is accepted for one round trip per request.

Redis down: requests are **allowed** (an outage of the limiter must not
take the API down with it, and uploads must keep working while Redis is
away). After a failure the limiter is skipped for ``open_for_s`` seconds
(default 1) so requests do not each wait for a Redis timeout.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from folio_shared.errors import RateLimited
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: Length of a window, in seconds.
WINDOW_S = 60


def window_key(key_id: uuid.UUID, window: int) -> str:
    return f"folio:ratelimit:{key_id}:{window}"


@dataclass
class RateLimiter:
    """``limit_per_minute`` requests per key and minute; see the module notes.

    - ``open_for_s``: how long the limiter is skipped after Redis failed
      (default 1 s).
    """

    limit_per_minute: int
    open_for_s: float = 1.0
    _skip_until: float = 0.0

    async def hit(self, redis: Redis, key_id: uuid.UUID) -> int:
        """Count one request of ``key_id``; returns the requests left in
        this window, raises :class:`RateLimited` past the limit."""
        now_mono = time.monotonic()
        if now_mono < self._skip_until:
            return self.limit_per_minute
        now = time.time()
        window = int(now // WINDOW_S)
        key = window_key(key_id, window)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, WINDOW_S + 1, nx=True)
                count, _ = await pipe.execute()
        except Exception as e:
            self._skip_until = now_mono + self.open_for_s
            log.warning("rate limiter unavailable; allowing requests", error=repr(e))
            return self.limit_per_minute
        if int(count) > self.limit_per_minute:
            retry_after_s = max(1, int((window + 1) * WINDOW_S - now + 0.999))
            raise RateLimited(
                f"more than {self.limit_per_minute} requests per minute with this key; "
                f"retry in {retry_after_s} s",
                retry_after_s=retry_after_s,
            )
        return self.limit_per_minute - int(count)
