"""Per-kind limits across every worker process: a rate and a concurrency.

An actor (a job kind) may declare two options::

    @dramatiq.actor(actor_name="audio.analyze", queue_name="media",
                    rate_limit="60/m", concurrency=4)

- ``rate_limit``: at most N starts in any sliding window, written
  ``"N/s"``, ``"N/m"``, ``"N/h"`` or with a length, ``"N/10s"``;
- ``concurrency``: at most N messages of the actor running at once.

Both hold across all worker processes of a broker namespace (the state is
in Folio's Redis) and are checked by :class:`KindLimits` before the job is
claimed. A message held back by a limit is *delayed*: sent again with a
delay and the fetched copy acked, as a paused queue's are. Its job stays
``queued``, no attempt is used and no retry counted; the worker thread is
free at once (nothing waits or spins in the worker).

Dramatiq's own limiters (``dramatiq.rate_limits``) fall short here, so
this module keeps the same two ideas in two small Lua scripts:

- ``WindowRateLimiter`` counts in one-second buckets of the *worker's*
  clock and checks the last ``window`` buckets: two bursts at the end of
  one bucket and the start of the bucket ``window`` seconds later are both
  admitted, so a real 60 s window may hold up to twice the limit; clocks
  of different hosts disagree; and an ``"N/h"`` limit reads 3,600 keys per
  message. Here every admitted start is one entry of a sorted set scored
  with Redis's own clock (``TIME``): exact for any window, one clock, and
  the oldest entry says how long a held message must wait.
- ``ConcurrentRateLimiter`` is one counter: a worker killed while holding
  a slot never gives it back, and under steady traffic the key's TTL never
  runs out, so the slot is lost for good. Here each holder is an entry
  with a lease (the job lease, ``jobs.lease_ms``), renewed while its job
  runs: a killed worker's slots come back when their lease ends, as its
  jobs do.

The limiter admits a start a moment before the job row's ``started_at``
is written (the claim comes next). So that starts measured from the rows
respect the limit too, each admitted start counts for ``guard`` longer
than the window: 2 % of it, between 100 ms and 1 s.

Held messages lose their place in their queue (they come back at its
tail) and cost one Redis round trip each time they are looked at.
"""

from __future__ import annotations

import random
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware, MiddlewareError, SkipMessage

from folio_shared.errors import ConfigurationError
from folio_shared.leases import ACQUIRE_SCRIPT, RENEW_SCRIPT
from folio_shared.logging import get_logger
from folio_shared.metrics import JOBS_LIMITED

log = get_logger(__name__)

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|m|h)\s*$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000}


class InvalidLimit(ConfigurationError, MiddlewareError):
    """A kind declares a ``rate_limit`` or ``concurrency`` that is not
    valid. Also a Dramatiq ``MiddlewareError``: Dramatiq lets only those
    out of a middleware, so declaring the actor fails."""

    code = "invalid_limit"


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` starts in any window of ``window_ms``."""

    limit: int
    window_ms: int

    @property
    def guard_ms(self) -> int:
        """How much longer than the window an admitted start counts (module doc)."""
        return min(1_000, max(100, self.window_ms // 50))


def parse_rate(text: str) -> Rate:
    """``"60/m"`` → ``Rate(60, 60_000)``; ``"10/5s"``, ``"1000/h"`` likewise.

    Raises :class:`InvalidLimit` (a ConfigurationError) for anything else.
    """
    m = _RATE.match(text) if isinstance(text, str) else None
    if m is None:
        raise InvalidLimit(
            f"invalid rate_limit {text!r}: expected N/s, N/m, N/h or N/<count><unit>",
            rate_limit=str(text),
        )
    limit, count, unit = int(m.group(1)), int(m.group(2) or 1), m.group(3)
    if limit < 1 or count < 1:
        raise InvalidLimit(
            f"invalid rate_limit {text!r}: the limit and window must be positive",
            rate_limit=text,
        )
    return Rate(limit, count * _UNIT_MS[unit])


def check_concurrency(value: object) -> int:
    """A ``concurrency`` option's value: a positive int, else :class:`InvalidLimit`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidLimit(
            f"invalid concurrency {value!r}: expected a positive integer",
            concurrency=str(value),
        )
    return value


# Sliding-window log: admit when fewer than ARGV[1] entries are younger than
# ARGV[2] ms; else return how many ms until the oldest leaves the window.
_RATE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + window - now, 1)
"""


@dataclass(frozen=True)
class _Limits:
    rate: Rate | None
    concurrency: int | None


class KindLimits(Middleware):
    """Enforces the ``rate_limit`` and ``concurrency`` actor options (module doc).

    Placement: after ``QueuePause`` (a paused queue's message takes no
    slot) and before ``JobTracking`` (a held message is never claimed);
    ``after_*`` hooks running in reverse, a concurrency slot is given back
    once JobTracking has recorded the outcome.

    - ``redis_url``: where the limits' state lives (Folio's Redis).
    - ``namespace``: the broker namespace (default ``folio``).
    - ``lease_ms``: how long a concurrency slot outlives its last renewal
      (default 30,000 ms; Folio passes ``jobs.lease_ms``); renewed every
      third of it while the job runs.
    - ``hold_ms``: delay of a message held back by the concurrency limit
      (default 1,000 ms, plus up to half of it at random); a message held
      back by the rate waits until the window has room (plus a little).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        namespace: str = "folio",
        lease_ms: int = 30_000,
        hold_ms: int = 1_000,
    ) -> None:
        self.redis_url = redis_url
        self.namespace = namespace
        self.lease_ms = lease_ms
        self.hold_ms = hold_ms
        self._client: redis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._limits: dict[str, _Limits] = {}
        self._held: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def actor_options(self) -> set[str]:
        return {"rate_limit", "concurrency"}

    def key(self, actor_name: str, limit: str) -> str:
        """The Redis key of an actor's ``rate`` or ``concurrency`` state."""
        return f"folio:{self.namespace}:limits:{actor_name}:{limit}"

    # -- declaration ------------------------------------------------------------------

    def before_declare_actor(self, broker: dramatiq.Broker, actor: Any) -> None:
        # An invalid limit fails where the kind is declared, not at run time.
        rate = actor.options.get("rate_limit")
        conc = actor.options.get("concurrency")
        limits = _Limits(
            parse_rate(rate) if rate is not None else None,
            check_concurrency(conc) if conc is not None else None,
        )
        if limits.rate is not None or limits.concurrency is not None:
            self._limits[actor.actor_name] = limits

    # -- worker lifecycle --------------------------------------------------------------

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        # Before, not after: Dramatiq starts the worker's threads between the
        # two, and a message taken before the client exists is not limited.
        # Opened even when no actor has limits yet: a later middleware's
        # before_worker_boot may declare actors (the SDK's KindWorkers).
        self._client = redis.Redis.from_url(self.redis_url)
        self._scripts = {
            "rate": self._client.register_script(_RATE_SCRIPT),
            "acquire": self._client.register_script(ACQUIRE_SCRIPT),
            "renew": self._client.register_script(RENEW_SCRIPT),
        }
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew, name="folio-limits", daemon=True)
        self._thread.start()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._client is not None:
            with self._lock:
                held, self._held = list(self._held.values()), {}
            for key, member in held:
                self._client.zrem(key, member)
            self._client.close()
            self._client = None

    # -- per message ------------------------------------------------------------------

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        limits = self._limits.get(message.actor_name)
        if limits is None or self._client is None:
            return
        member = f"{message.message_id}:{uuid.uuid4().hex[:8]}"
        if limits.concurrency is not None:
            key = self.key(message.actor_name, "concurrency")
            if not self._scripts["acquire"](
                keys=[key], args=[limits.concurrency, self.lease_ms, member]
            ):
                self._hold(
                    broker, message, "concurrency", self.hold_ms + _jitter(self.hold_ms // 2)
                )
            with self._lock:
                self._held[message.message_id] = (key, member)
        # A completion step (continuation) is not a new start.
        if limits.rate is not None and not message.options.get("continuation"):
            rate = limits.rate
            window = rate.window_ms + rate.guard_ms
            wait = int(
                self._scripts["rate"](
                    keys=[self.key(message.actor_name, "rate")],
                    args=[rate.limit, window, member],
                )
            )
            if wait:
                self._release(message)
                spread = max(10, min(1_000, rate.window_ms // rate.limit))
                self._hold(broker, message, "rate", wait + _jitter(spread))

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._release(message)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._release(message)

    # -- helpers ---------------------------------------------------------------------

    def _hold(
        self, broker: dramatiq.Broker, message: MessageProxy, limit: str, delay_ms: int
    ) -> None:
        broker.enqueue(message.copy(), delay=delay_ms)
        message.options["folio_limited"] = limit
        JOBS_LIMITED.labels(message.actor_name, limit).inc()
        raise SkipMessage()

    def _release(self, message: MessageProxy) -> None:
        with self._lock:
            held = self._held.pop(message.message_id, None)
        if held is not None and self._client is not None:
            try:
                self._client.zrem(*held)
            except redis.RedisError as e:
                # The slot comes back when its lease ends.
                log.warning("concurrency slot not released", error=repr(e))

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_ms / 3000):
            with self._lock:
                held = list(self._held.values())
            for key, member in held:
                try:
                    self._scripts["renew"](keys=[key], args=[self.lease_ms, member])
                except redis.RedisError as e:
                    log.warning("concurrency slot not renewed", error=repr(e))


def _jitter(ms: int) -> int:
    return random.randint(0, max(ms, 0))  # noqa: S311 - spreading retries, not a secret
