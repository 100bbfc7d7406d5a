"""What Folio's ``_WakingConsumer`` relies on in Dramatiq's private Redis
consumer (``dramatiq.brokers.redis._RedisConsumer``), checked without a
server: ADR 0010 lists these, and each failure here says what changed.

A failure means Dramatiq changed under the subclass: re-read
docs/adr/0010-waking-consumer-for-query-queues.md, check the subclass against
the new code, then widen :data:`CHECKED` (the behaviour with a real Redis is
in tests/integration/broker/test_wakeups.py).
"""

from __future__ import annotations

import inspect
import socket
from importlib.metadata import version

import dramatiq
import dramatiq.worker
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff
from dramatiq.errors import BrokerConnectionError, ConnectionClosed

from folio_shared.broker import FolioRedisBroker, _WakingConsumer

ADR = "docs/adr/0010-waking-consumer-for-query-queues.md"
#: Dramatiq releases (major, minor) whose redis.py the subclass was checked against.
CHECKED = {(2, 2)}


def _guard(ok: bool, what: str) -> None:
    assert ok, f"Dramatiq changed what _WakingConsumer relies on ({what}): re-read {ADR}"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def broker() -> FolioRedisBroker:
    # Building a broker and its consumers does not connect.
    return FolioRedisBroker(url=f"redis://127.0.0.1:{_closed_port()}/0", middleware=[])


def test_the_installed_dramatiq_is_a_checked_release() -> None:
    major, minor = (int(part) for part in version("dramatiq").split(".")[:2])
    _guard((major, minor) in CHECKED, f"dramatiq {version('dramatiq')} not in {CHECKED}")


def test_the_consumer_is_built_as_the_subclass_builds_it(broker: FolioRedisBroker) -> None:
    params = list(inspect.signature(_RedisConsumer.__init__).parameters)
    _guard(params == ["self", "broker", "queue_name", "prefetch", "timeout"], f"__init__{params}")
    consume = list(inspect.signature(RedisBroker.consume).parameters)
    _guard(consume == ["self", "queue_name", "prefetch", "timeout"], f"consume{consume}")
    _guard(
        "broker.consume(" in inspect.getsource(dramatiq.worker)
        and "queue_name=self.queue_name" in inspect.getsource(dramatiq.worker),
        "the worker no longer asks the broker's consume() for its consumers",
    )
    consumer = broker.consume("queries.high", prefetch=3, timeout=1000)
    assert isinstance(consumer, _WakingConsumer)
    for name, expected in (("broker", broker), ("queue_name", "queries.high"), ("prefetch", 3)):
        _guard(getattr(consumer, name, None) == expected, f"consumer.{name}")
    _guard(consumer.timeout == 1, "the idle ceiling is the constructor's timeout")
    _guard(consumer.outstanding_message_count == 0, "outstanding_message_count")
    _guard(isinstance(broker.client, redis.Redis), "broker.client is a redis.Redis")


def test_an_idle_look_returns_none_at_once_with_a_1_ms_ceiling() -> None:
    # Dramatiq's __next__ sleeps compute_backoff(misses, max_backoff=timeout)
    # when it fetched nothing and returns None: with timeout=1 that sleep is
    # at most 1 ms, whatever the misses, and the wait is the subclass's.
    source = inspect.getsource(_RedisConsumer.__next__)
    for fragment in (
        "self.outstanding_message_count < self.prefetch",
        "compute_backoff(self.misses, max_backoff=self.timeout)",
        "time.sleep(backoff_ms / 1000)",
        "return None",
        "raise ConnectionClosed(e)",
    ):
        _guard(fragment in source, f"_RedisConsumer.__next__ no longer has {fragment!r}")
    _guard(
        all(compute_backoff(misses, max_backoff=1)[1] <= 1 for misses in range(64)),
        "compute_backoff exceeds its max_backoff",
    )
    _guard(
        "if message is not None" in inspect.getsource(dramatiq.worker),
        "the worker's loop no longer takes None as 'nothing yet'",
    )


def test_a_lost_redis_is_dramatiqs_connection_closed(broker: FolioRedisBroker) -> None:
    # The worker restarts a consumer on BrokerConnectionError. Dramatiq's
    # fetch raises ConnectionClosed when Redis is gone (shown here: nothing
    # listens on the port); the subclass raises the same for its own wait.
    _guard(issubclass(ConnectionClosed, BrokerConnectionError), "ConnectionClosed's base")
    _guard(issubclass(_RedisConsumer, dramatiq.Consumer), "_RedisConsumer's base")
    consumer = broker.consume("queries.high", prefetch=1)
    with pytest.raises(ConnectionClosed):
        next(consumer)
    broker.close()
