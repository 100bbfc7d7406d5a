"""Failed authentications, limited per client address.

A key that does not resolve costs a database lookup (only well-formed keys
reach the database, but random well-formed keys are cheap to make). So each
client address may fail authentication at most ``limit_per_minute`` times
in a fixed one-minute window; past that, **every** request from that
address is answered 429 ``rate_limited`` with ``Retry-After`` until the
window ends, before its key is looked at (a valid key from that address
waits too: the address, not the key, is what misbehaves).

Failures are counted in Redis (``<namespace>:authfail:<address>:<minute>``,
shared by every API replica of the deployment, expiring with the window); a refused address
is remembered by the process for the rest of its window, so refusing costs
neither Redis nor the database. A replica learns of a refused address at
that address's next failure there. With Redis down, each process counts
on its own (the limit then holds per process).

The client address is the one uvicorn reports: behind a reverse proxy,
``folio-api`` trusts ``X-Forwarded-For`` from the addresses in uvicorn's
``--forwarded-allow-ips`` (loopback by default), so put the proxy there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from redis.asyncio import Redis

from folio_shared.errors import RateLimited
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: Length of a window, in seconds.
WINDOW_S = 60
#: Addresses a process remembers (past it, it forgets them all).
MAX_TRACKED_ADDRESSES = 10_000


def failure_key(namespace: str, address: str, window: int) -> str:
    return f"{namespace}:authfail:{address}:{window}"


@dataclass
class AuthFailureLimiter:
    """At most ``limit_per_minute`` failed authentications per client
    address and minute (``FOLIO_API_AUTH_FAILURES_PER_MINUTE``, default 30),
    counted under the Redis key ``namespace`` (the broker's,
    ``FOLIO_BROKER_NAMESPACE``); see the module notes."""

    limit_per_minute: int
    namespace: str
    #: address → window in which it is refused
    _refused: dict[str, int] = field(default_factory=dict)
    #: address → (window, failures) counted here while Redis is down
    _local: dict[str, tuple[int, int]] = field(default_factory=dict)

    def check(self, address: str) -> None:
        """Raise :class:`RateLimited` if ``address`` is refused in this window."""
        now = time.time()
        window = int(now // WINDOW_S)
        if self._refused.get(address) == window:
            raise self._limited(address, (window + 1) * WINDOW_S - now)

    async def failed(self, redis: Redis, address: str) -> None:
        """Count one failed authentication of ``address``; past the limit,
        the address is refused for the rest of the window."""
        window = int(time.time() // WINDOW_S)
        key = failure_key(self.namespace, address, window)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, WINDOW_S + 1, nx=True)
                count, _ = await pipe.execute()
        except Exception as e:
            log.warning("auth failure counter unavailable; counting here", error=repr(e))
            count = self._count_locally(address, window)
        if int(count) >= self.limit_per_minute:
            if len(self._refused) >= MAX_TRACKED_ADDRESSES:
                self._refused.clear()
            if self._refused.get(address) != window:
                log.warning("client refused after failed authentications", client=address)
            self._refused[address] = window

    def _count_locally(self, address: str, window: int) -> int:
        if len(self._local) >= MAX_TRACKED_ADDRESSES:
            self._local.clear()
        seen_window, count = self._local.get(address, (window, 0))
        count = count + 1 if seen_window == window else 1
        self._local[address] = (window, count)
        return count

    def _limited(self, address: str, seconds_left: float) -> RateLimited:
        retry_after_s = max(1, int(seconds_left + 0.999))
        return RateLimited(
            f"more than {self.limit_per_minute} failed authentications per minute from "
            f"this address; retry in {retry_after_s} s",
            retry_after_s=retry_after_s,
            client=address,
        )
