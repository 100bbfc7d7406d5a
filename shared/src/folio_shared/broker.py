"""The Dramatiq broker factory and Folio's middleware stack, in one place.

The broker is chosen by URL: ``redis://`` (the default, Folio's Redis) or
``amqp://`` (RabbitMQ, the scale-out path). Every service builds its broker
here, so every process runs the same middleware in the same order.

Nothing connects at import time: :func:`setup_broker` is called by a
service's entry point (or a test), which then imports its actors.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import ConnectionClosed
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
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend

from folio_shared import encoder
from folio_shared.errors import ConfigurationError
from folio_shared.hooks import HookDispatch
from folio_shared.jobs.acks import AckGate
from folio_shared.jobs.limits import KindLimits
from folio_shared.jobs.middleware import JobTracking
from folio_shared.jobs.pointers import MessagePointers
from folio_shared.messages import Message as FolioMessage
from folio_shared.messages import Priority, route
from folio_shared.ops.attempts import AttemptErrors
from folio_shared.ops.pause import QueuePause
from folio_shared.ops.snapshot import worker_sampler
from folio_shared.ops.workers import WorkerRegistry
from folio_shared.resources import WorkerResources
from folio_shared.settings import FolioSettings, get_settings
from folio_shared.telemetry import JobSpanAttributes, Tracing
from folio_shared.worker_metrics import Metrics

#: Namespace of request/reply results in Redis (see folio_api.domain.search.queries).
RESULTS_NAMESPACE = "folio-results"


class FolioRedisBroker(HookDispatch, RedisBroker):
    """Dramatiq's Redis broker with short idle polls where latency matters,
    and wake-ups for search queries; its signals go only to the middleware
    that handle them (:mod:`folio_shared.hooks`).

    Dramatiq's Redis consumer backs off up to the worker's ``worker_timeout``
    (1 s) when a queue is empty, and its CLI offers no way to change it. A
    ``critical`` or ``high`` job sent to an idle sub-queue would then wait up
    to a second before anyone looks; those sub-queues are polled at least
    every ``priority_poll_ms`` instead (default 100 ms).

    A job queue's consumer acks through :attr:`ack_gate`, so a job's
    message can be acked once its outcome is durable without its worker
    thread waiting for that (:mod:`folio_shared.jobs.acks`); as held acks
    still count against Dramatiq's prefetch, such a consumer may fetch
    half as many more.

    Search queries wait on their reply (``queries.embed``), and even a 10 ms
    poll added ~5 ms on average to every search. So every message sent to
    ``queries.critical`` or ``queries.high`` also pushes a token to the
    queue's wake-up list (``<namespace>:<queue>.wake``, at most
    :data:`WAKE_TOKENS_MAX` tokens, expiring after a minute), and an idle
    consumer of those queues waits on that list with a blocking pop instead
    of sleeping: it fetches within a Redis round trip of the send. A token
    only says "look now"; the message itself is fetched (and acknowledged)
    the usual way, so a token that wakes no one, or wakes a worker that
    then finds the queue empty, costs nothing. Without a token, the consumer
    still looks every ``query_poll_ms`` (default 50 ms), so a message sent
    by an older sender is not stranded.
    """

    def __init__(
        self,
        *,
        priority_poll_ms: int = 100,
        query_poll_ms: int = 50,
        early_claims: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self.priority_poll_ms = priority_poll_ms
        self.query_poll_ms = query_poll_ms
        #: Jobs claimed as fetched (``FOLIO_JOBS_EARLY_CLAIMS``) also wait,
        #: claimed, for a thread: such a consumer fetches more still.
        self.early_claims = early_claims
        #: Acks that wait for their job's outcome, off the worker threads.
        self.ack_gate = AckGate()

    def wake_key(self, queue_name: str) -> str:
        """The Redis list that wakes the consumers of ``queue_name``."""
        return f"{self.namespace}:{queue_name}.wake"

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        if _wakes(queue_name):
            return _WakingConsumer(self, queue_name, prefetch, min(timeout, self.query_poll_ms))
        if queue_name.endswith((".critical", ".high")):
            timeout = min(timeout, self.priority_poll_ms)
        if not queue_name.endswith(".DQ"):
            # Acks held for a round still count against Dramatiq's prefetch,
            # and so do messages claimed early that wait for a thread.
            prefetch += prefetch * 3 // 2 if self.early_claims else prefetch // 2
        return self.ack_gate.wrap(super().consume(queue_name, prefetch, timeout), prefetch)

    def enqueue(self, message: Any, *, delay: int | None = None) -> Any:
        sent = super().enqueue(message, delay=delay)
        if delay is None and _wakes(sent.queue_name):
            key = self.wake_key(sent.queue_name)
            with self.client.pipeline(transaction=False) as pipe:
                pipe.lpush(key, 1)
                pipe.ltrim(key, 0, WAKE_TOKENS_MAX - 1)
                pipe.pexpire(key, 60_000)
                pipe.execute()
        return sent


#: Most tokens a wake-up list keeps (a backlog of tokens only makes idle
#: consumers look once more).
WAKE_TOKENS_MAX = 64


def _wakes(queue_name: str) -> bool:
    return queue_name in ("queries.critical", "queries.high")


class _WakingConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, waiting on its queue's wake-up list when
    idle (see :class:`FolioRedisBroker`). Dramatiq has no hook for how a
    consumer waits, so this subclasses its private consumer: its own backoff
    sleep is given a 1 ms ceiling (it sleeps 0), and the wait happens here.
    What it relies on in Dramatiq, and the guard test that checks it:
    docs/adr/0010-waking-consumer-for-query-queues.md."""

    def __init__(
        self, broker: FolioRedisBroker, queue_name: str, prefetch: int, wait_ms: int
    ) -> None:
        super().__init__(broker, queue_name, prefetch, 1)  # type: ignore[no-untyped-call]
        self.wake_key = broker.wake_key(queue_name)
        self.wait_s = max(wait_ms, 1) / 1000

    def __next__(self) -> Any:
        message = super().__next__()  # type: ignore[no-untyped-call]
        if message is not None:
            return message
        if self.outstanding_message_count >= self.prefetch:
            # Busy: leave the tokens to idle consumers.
            time.sleep(self.wait_s)
            return None
        try:
            self.broker.client.blpop([self.wake_key], timeout=self.wait_s)
        except redis.TimeoutError:
            pass  # a wait longer than the client's socket timeout: just look again
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]
        return None


class UntrackedResults(RedisBackend):
    """Dramatiq's Redis result backend, for the results no job row keeps.

    Folio's broker runs Dramatiq's own ``Results`` middleware with
    ``store_results=True``: an actor's return value is always a result, kept
    where it belongs. A tracked job's (``job_id`` in its message options) is
    its job's result, written to the job row by JobTracking, so it is not
    stored again here; any other actor's (request/reply actors such as
    ``queries.embed``) is kept in Redis for its ``result_ttl`` (Dramatiq's
    default, 10 minutes). Dramatiq's worker only counts that exact
    middleware class as "results are handled": the subclass Folio used
    before made it warn, for every job actor returning a value (each
    maintenance run every minute), that the value was discarded.
    """

    def store_result(self, message: Any, result: Any, ttl: int) -> None:
        if not message.options.get("job_id"):
            super().store_result(message, result, ttl)

    def store_exception(self, message: Any, exception: Exception, ttl: int) -> None:
        if not message.options.get("job_id"):
            super().store_exception(message, exception, ttl)


def folio_middleware(settings: FolioSettings) -> list[Middleware]:
    """Folio's middleware, in the order Dramatiq runs their hooks.

    Order matters: ``before_*`` hooks run top to bottom and ``after_*``
    hooks bottom to top, so ``Retries`` (which decides whether a
    failed message is retried or dead-lettered) must come after anything
    that classifies the failure, and ``CurrentMessage`` must be set before
    an actor body runs.

    ``AgeLimit`` is left out on purpose: it drops old messages silently,
    and Folio never drops a job without recording why.
    """
    jobs = settings.jobs
    tracking = JobTracking(settings)
    namespace = settings.broker.namespace
    return [
        # Observability first: the consumer span opens before anything runs
        # and, after_* hooks running in reverse, closes last, so sends made
        # by later middleware (retries, the fan-in completion) join its trace.
        Tracing(),
        # Limits and lifecycle of one attempt.
        TimeLimit(time_limit=jobs.document_time_limit_ms, interval=1000),
        ShutdownNotifications(),
        # Composition (pipelines, on_success / on_failure callbacks).
        Callbacks(),
        Pipelines(),
        # Failure policy: exponential backoff with jitter, then dead letter.
        # The decision comes from JobTracking: attempts are counted in
        # PostgreSQL, where a SIGKILLed attempt still counts.
        Retries(
            max_retries=jobs.max_retries,
            min_backoff=jobs.min_backoff_ms,
            max_backoff=jobs.max_backoff_ms,
            retry_when=tracking.should_retry,
        ),
        # Lets Folio code find the message it runs under (job id, trace).
        CurrentMessage(),
        # Every actor's return value is a result: tracked jobs' go to their
        # job rows (JobTracking), the others' (query embedding) to Redis.
        Results(  # type: ignore[no-untyped-call]
            backend=UntrackedResults(  # type: ignore[no-untyped-call]
                url=settings.redis.url, namespace=RESULTS_NAMESPACE
            ),
            store_results=True,
        ),
        # Async actors: an event-loop thread per worker process, then the
        # clients opened on it at boot (database, storage, Redis).
        AsyncIO(),
        WorkerResources(settings),
        # Operations: the worker registry, and paused queues (before
        # JobTracking, so a deferred message is never claimed).
        WorkerRegistry(settings.redis.url, namespace=namespace),
        QueuePause(settings.redis.url, namespace=namespace),
        # Where each tracked job's latest message is (for the reconciler).
        MessagePointers(),
        # Per-kind rate and concurrency limits: after QueuePause (a paused
        # message takes no slot), before JobTracking (a held message is
        # delayed, never claimed), its slots given back after the outcome.
        KindLimits(settings.redis.url, namespace=namespace, lease_ms=jobs.lease_ms),
        # Its after_* hooks run before the ones above (before Retries
        # decides, and while WorkerResources still has the database open).
        tracking,
        # After JobTracking: they read the claimed job's context, and their
        # after_* hooks run before JobTracking records the outcome.
        JobSpanAttributes(),
        AttemptErrors(),
        Metrics(
            port=settings.metrics.port,
            cluster=worker_sampler(namespace),
        ),
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
    encoder.install()  # Dramatiq's encoder is process-wide
    stack = list(middleware) if middleware is not None else folio_middleware(settings)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return FolioRedisBroker(
            url=url,
            namespace=settings.broker.namespace,
            heartbeat_timeout=settings.broker.heartbeat_timeout_ms,
            middleware=stack,
            early_claims=settings.jobs.early_claims,
        )
    if url.startswith(("amqp://", "amqps://")):
        from folio_shared.broker_rabbitmq import FolioRabbitmqBroker  # pika only when configured

        return FolioRabbitmqBroker(url=url, middleware=stack, confirm_delivery=True)
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
