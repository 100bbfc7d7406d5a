"""A message sent through each broker Folio supports is received by an actor.

Real servers: the Redis of the test run and RabbitMQ on 127.0.0.1:5672.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import dramatiq
import pika
import pytest
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from folio_shared.broker import create_broker, folio_middleware
from folio_shared.errors import ConfigurationError
from folio_shared.settings import BrokerSettings, FolioSettings, RedisSettings

pytestmark = pytest.mark.integration


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest, test_servers) -> str:
    return test_servers.redis_url if request.param == "redis" else test_servers.amqp_url


@pytest.fixture
def namespace() -> str:
    return f"folio-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def broker(broker_url: str, namespace: str) -> Iterator[dramatiq.Broker]:
    settings = FolioSettings(
        redis=RedisSettings(url=broker_url if broker_url.startswith("redis") else "redis://x:1/0"),
        broker=BrokerSettings(url=broker_url, namespace=namespace),
    )
    broker = create_broker(settings)
    yield broker
    queues = set(broker.get_declared_queues())
    broker.close()
    _cleanup(broker, broker_url, namespace, queues)


def _cleanup(broker: dramatiq.Broker, url: str, namespace: str, queues: set[str]) -> None:
    if isinstance(broker, RedisBroker):
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(f"{namespace}:*"))
        if keys:
            client.delete(*keys)
        client.close()
    else:
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        for queue in queues:
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                channel.queue_delete(name)
        connection.close()


def test_broker_kind_follows_the_url(broker: dramatiq.Broker, broker_url: str) -> None:
    expected = RedisBroker if broker_url.startswith("redis") else RabbitmqBroker
    assert isinstance(broker, expected)
    names = [type(m).__name__ for m in broker.middleware]
    for wanted in ("TimeLimit", "Retries", "CurrentMessage", "ShutdownNotifications"):
        assert wanted in names
    assert "AgeLimit" not in names, "Folio never drops old messages silently"


def test_message_sent_is_received_by_an_actor(broker: dramatiq.Broker) -> None:
    # Given an actor on a queue of its own
    received: list[tuple[str, int]] = []
    done = threading.Event()
    queue = f"test-{uuid.uuid4().hex[:8]}"

    def record(text: str, number: int) -> None:
        received.append((text, number))
        done.set()

    actor = dramatiq.Actor(
        record,
        broker=broker,
        actor_name=f"test.record.{queue}",
        queue_name=queue,
        priority=0,
        options={},
    )
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        # When a message is sent through the broker
        actor.send("héllo", 42)
        # Then the actor receives it, once, with its arguments intact
        assert done.wait(timeout=20), "the actor never received the message"
        worker.join()
    finally:
        worker.stop()
    assert received == [("héllo", 42)]


def test_unknown_scheme_is_a_configuration_error() -> None:
    settings = FolioSettings()
    with pytest.raises(ConfigurationError, match="unsupported broker URL"):
        create_broker(settings, url="kafka://127.0.0.1:9092")


def test_middleware_stack_uses_settings() -> None:
    from folio_shared.settings import JobSettings

    settings = FolioSettings(jobs=JobSettings(max_retries=7, min_backoff_ms=5, max_backoff_ms=50))
    retries = next(m for m in folio_middleware(settings) if type(m).__name__ == "Retries")
    assert (retries.max_retries, retries.min_backoff, retries.max_backoff) == (7, 5, 50)
