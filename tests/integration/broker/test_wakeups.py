"""Search queries wake an idle consumer instead of waiting for its next poll
(real Redis of the test run)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import _RedisConsumer

from folio_shared.broker import WAKE_TOKENS_MAX, FolioRedisBroker

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_sync(test_servers) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(test_servers.redis_url)
    yield c
    c.close()


@pytest.fixture
def make_broker(test_servers, redis_sync: redis.Redis) -> Iterator:
    namespace = f"folio-test-{uuid.uuid4().hex[:8]}"
    made: list[FolioRedisBroker] = []

    def make(**kwargs: int) -> FolioRedisBroker:
        broker = FolioRedisBroker(
            url=test_servers.redis_url, namespace=namespace, middleware=[], **kwargs
        )
        broker.declare_queue("queries.high")
        broker.declare_queue("queries")
        made.append(broker)
        return broker

    yield make
    for broker in made:
        broker.close()
    keys = list(redis_sync.scan_iter(f"{namespace}:*"))
    if keys:
        redis_sync.delete(*keys)


def _message(queue: str) -> dramatiq.Message:
    return dramatiq.Message(
        queue_name=queue, actor_name="queries.embed.v1", args=("q",), kwargs={}, options={}
    )


def test_a_send_wakes_an_idle_consumer_long_before_its_poll(make_broker) -> None:
    # Given a consumer that would look again only after 10 s, already waiting
    worker_side = make_broker(query_poll_ms=10_000)
    sender = make_broker()
    consumer = worker_side.consume("queries.high", prefetch=1, timeout=10_000)
    received: list[tuple[str, float]] = []

    def consume() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            proxy = next(consumer)
            if proxy is not None:
                received.append((proxy.message_id, time.monotonic()))
                consumer.ack(proxy)
                return

    thread = threading.Thread(target=consume)
    thread.start()
    next_check = consumer.wait_s
    time.sleep(0.5)  # the consumer is blocked on its wake-up list by now

    # When a query message is sent
    sent_at = time.monotonic()
    message = sender.enqueue(_message("queries.high"))
    thread.join(timeout=25)

    # Then it is received at once, not at the consumer's next look 10 s on
    # (the bound leaves a loaded machine a few seconds)
    assert next_check == 10.0
    assert [mid for mid, _ in received] == [message.message_id]
    assert received[0][1] - sent_at < 3.0


def test_wake_tokens_are_bounded_expire_and_only_for_query_queues(
    make_broker, redis_sync: redis.Redis
) -> None:
    broker = make_broker()
    for _ in range(WAKE_TOKENS_MAX + 40):
        broker.enqueue(_message("queries.high"))
    key = broker.wake_key("queries.high")
    assert redis_sync.llen(key) == WAKE_TOKENS_MAX
    assert 0 < redis_sync.pttl(key) <= 60_000
    broker.enqueue(_message("queries"))
    broker.enqueue(_message("queries.high"), delay=60_000)
    assert not redis_sync.exists(broker.wake_key("queries"))
    assert redis_sync.llen(key) == WAKE_TOKENS_MAX


def test_a_busy_consumer_leaves_tokens_and_messages_to_others(make_broker) -> None:
    # Given a consumer holding as many messages as it may prefetch
    broker = make_broker(query_poll_ms=20)
    busy = broker.consume("queries.high", prefetch=1)
    broker.enqueue(_message("queries.high"))
    held = None
    deadline = time.monotonic() + 5
    while held is None and time.monotonic() < deadline:
        held = next(busy)
    assert held is not None

    # When another message is sent, the busy consumer neither takes it nor its token
    second = broker.enqueue(_message("queries.high"))
    assert next(busy) is None
    idle = broker.consume("queries.high", prefetch=1)
    got = None
    deadline = time.monotonic() + 5
    while got is None and time.monotonic() < deadline:
        got = next(idle)

    # Then an idle consumer gets it
    assert got is not None
    assert got.message_id == second.message_id
    busy.ack(held)
    idle.ack(got)


def test_dramatiqs_idle_look_with_a_1_ms_ceiling_does_not_sleep(make_broker) -> None:
    # Given Dramatiq's own consumer as _WakingConsumer builds its parent
    # (idle ceiling 1 ms; ADR 0010), on an empty queue
    consumer = _RedisConsumer(make_broker(), "queries.high", 1, 1)

    # When it looks 40 times in a row
    started = time.monotonic()
    looks = [next(consumer) for _ in range(40)]
    elapsed = time.monotonic() - started

    # Then each look returns None at once although its backoff counter grew
    # (with a 1 s ceiling, the 40 looks would sleep over 20 s)
    assert looks == [None] * 40
    assert consumer.misses == 40
    assert elapsed < 5.0
