"""Per-key rate limits, shared by every API replica through Redis.

A fixed one-minute window per key, counted in Redis under
``folio:ratelimit:<key id>:<minute>`` (expiring after the window). Past
``limit_per_minute`` requests the API answers 429 with ``Retry-After``
(seconds until the window ends). Fixed windows let a client burst up to
twice the limit across a window edge.

Leases: asking Redis at every request would cost a round trip each, which
the busiest routes feel. A process instead takes a *lease* of
``lease_size`` requests at once (``INCRBY``) and spends it locally; the
lease is ``limit_per_minute / 100`` requests, at least 1 and at most
:data:`MAX_LEASE`. With a small limit (under 200 a minute) every request
still asks Redis and the count is exact; with a large one, each replica may
hold up to 1 % of the limit unspent when the window ends, so a client of a
large limit may be refused that much early (never let past the limit).

Redis down: requests are **allowed** (an outage of the limiter must not
take the API down with it, and uploads must keep working while Redis is
away). After a failure the limiter is skipped for ``open_for_s`` seconds
(default 1) so requests do not each wait for a Redis timeout.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from redis.asyncio import Redis

from folio_shared.errors import RateLimited
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: Length of a window, in seconds.
WINDOW_S = 60
#: Keys whose leases a process remembers (past it, leases are forgotten).
MAX_TRACKED_KEYS = 10_000


def window_key(key_id: uuid.UUID, window: int) -> str:
    return f"folio:ratelimit:{key_id}:{window}"


#: Largest lease a process takes at once, in requests.
MAX_LEASE = 50


@dataclass
class RateLimiter:
    """``limit_per_minute`` requests per key and minute; see the module notes.

    - ``open_for_s``: how long the limiter is skipped after Redis failed
      (default 1 s).
    """

    limit_per_minute: int
    open_for_s: float = 1.0
    _skip_until: float = 0.0
    #: key id → (window, requests left in this process's lease)
    _leases: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)

    @property
    def lease_size(self) -> int:
        return max(1, min(MAX_LEASE, self.limit_per_minute // 100))

    async def hit(self, redis: Redis, key_id: uuid.UUID) -> None:
        """Count one request of ``key_id``; raises :class:`RateLimited`
        past the limit."""
        now_mono = time.monotonic()
        if now_mono < self._skip_until:
            return
        now = time.time()
        window = int(now // WINDOW_S)
        lease = self._leases.get(key_id)
        if lease is not None and lease[0] == window and lease[1] > 0:
            self._leases[key_id] = (window, lease[1] - 1)
            return
        size = self.lease_size
        key = window_key(key_id, window)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.incrby(key, size)
                pipe.expire(key, WINDOW_S + 1, nx=True)
                count, _ = await pipe.execute()
        except Exception as e:
            self._skip_until = now_mono + self.open_for_s
            log.warning("rate limiter unavailable; allowing requests", error=repr(e))
            return
        granted = min(size, self.limit_per_minute - (int(count) - size))
        if granted <= 0:
            self._leases.pop(key_id, None)
            retry_after_s = max(1, int((window + 1) * WINDOW_S - now + 0.999))
            raise RateLimited(
                f"more than {self.limit_per_minute} requests per minute with this key; "
                f"retry in {retry_after_s} s",
                retry_after_s=retry_after_s,
            )
        if len(self._leases) >= MAX_TRACKED_KEYS:
            self._leases.clear()
        self._leases[key_id] = (window, granted - 1)
