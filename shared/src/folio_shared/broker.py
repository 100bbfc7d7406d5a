"""The Dramatiq broker factory and Folio's middleware stack, in one place.

The broker is chosen by URL: ``redis://`` (the default, Folio's Redis) or
``amqp://`` (RabbitMQ, the scale-out path). Every service builds its broker
here, so every process runs the same middleware in the same order.

Nothing connects at import time: :func:`setup_broker` is called by a
service's entry point (or a test), which then imports its actors.
"""

from __future__ import annotations

from collections.abc import Sequence

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AsyncIO,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from folio_shared.errors import ConfigurationError
from folio_shared.messages import Message as FolioMessage
from folio_shared.messages import Priority, route
from folio_shared.resources import WorkerResources
from folio_shared.settings import FolioSettings, get_settings


def folio_middleware(settings: FolioSettings) -> list[Middleware]:
    """Folio's middleware, in the order Dramatiq runs their hooks.

    Order matters: ``before_*`` hooks run top to bottom and ``after_*``
    hooks run in the same order, so ``Retries`` (which decides whether a
    failed message is retried or dead-lettered) must come after anything
    that classifies the failure, and ``CurrentMessage`` must be set before
    an actor body runs.

    ``AgeLimit`` is left out on purpose: it drops old messages silently,
    and Folio never drops a job without recording why.
    """
    jobs = settings.jobs
    return [
        # Limits and lifecycle of one attempt.
        TimeLimit(time_limit=jobs.document_time_limit_ms, interval=1000),
        ShutdownNotifications(),
        # Composition (pipelines, on_success / on_failure callbacks).
        Callbacks(),
        Pipelines(),
        # Failure policy: exponential backoff with jitter, then dead letter.
        Retries(
            max_retries=jobs.max_retries,
            min_backoff=jobs.min_backoff_ms,
            max_backoff=jobs.max_backoff_ms,
        ),
        # Lets Folio code find the message it runs under (job id, trace).
        CurrentMessage(),
        # Async actors: an event-loop thread per worker process, then the
        # clients opened on it at boot (database, storage, Redis).
        AsyncIO(),
        WorkerResources(settings),
    ]


def create_broker(
    settings: FolioSettings | None = None,
    *,
    url: str | None = None,
    middleware: Sequence[Middleware] | None = None,
) -> dramatiq.Broker:
    """Build a broker from a URL (default: ``settings.broker_url``).

    ``middleware`` replaces Folio's stack (tests of raw Dramatiq use it);
    by default the broker gets :func:`folio_middleware`.
    """
    settings = settings or get_settings()
    url = url or settings.broker_url
    stack = list(middleware) if middleware is not None else folio_middleware(settings)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBroker(  # type: ignore[no-untyped-call]
            url=url,
            namespace=settings.broker.namespace,
            heartbeat_timeout=settings.broker.heartbeat_timeout_ms,
            middleware=stack,
        )
    if url.startswith(("amqp://", "amqps://")):
        return RabbitmqBroker(url=url, middleware=stack, confirm_delivery=True)
    raise ConfigurationError(f"unsupported broker URL scheme: {url.split(':', 1)[0]!r}", url=url)


def setup_broker(settings: FolioSettings | None = None) -> dramatiq.Broker:
    """Create the process's broker and make it Dramatiq's global broker.

    Call it once from an entry point before importing actor modules.
    """
    broker = create_broker(settings)
    dramatiq.set_broker(broker)
    return broker


def send_message(
    broker: dramatiq.Broker,
    msg: FolioMessage,
    *,
    priority: Priority | None = None,
    delay_ms: int | None = None,
    message_id: str | None = None,
    options: dict[str, object] | None = None,
) -> dramatiq.Message[object]:
    """Send a schema message to its actor's queue, without the actor's code.

    The payload is the message's single argument (see
    :mod:`folio_shared.messages.routing`); ``message_id`` lets a caller make
    a re-send the same Dramatiq message (the job id, for tracked jobs).
    """
    r = route(msg, priority=priority)
    if r.queue_name not in broker.get_declared_queues():
        broker.declare_queue(r.queue_name)
    message: dramatiq.Message[object] = dramatiq.Message(
        queue_name=r.queue_name,
        actor_name=r.actor_name,
        args=(r.payload,),
        kwargs={},
        options=dict(options or {}),
    )
    if message_id:
        message = message.copy(message_id=message_id)
    return broker.enqueue(message, delay=delay_ms)
