"""Embedding a search query through the broker (request and reply).

The API never loads the embedding model: :func:`embed_query` sends a
``queries.embed`` message (high priority) and waits for its result, which
worker-docs stores with Dramatiq's Results middleware. A worker that does
not answer within ``timeout_ms`` gives :class:`QueryTimeout` (503); Redis
unreachable, :class:`RedisUnavailable` (503).
"""

from __future__ import annotations

from collections.abc import Sequence

import dramatiq
import redis
from dramatiq.results import ResultBackend, ResultMissing, ResultTimeout
from dramatiq.results.backends.redis import RedisBackend
from dramatiq.results.errors import ResultFailure

from folio_shared.broker import RESULTS_NAMESPACE, send_message
from folio_shared.errors import DependencyUnavailable
from folio_shared.messages import EmbedQueryV1


class QueryTimeout(DependencyUnavailable):
    """No worker embedded the query in time."""

    code = "query_timeout"


class RedisUnavailable(DependencyUnavailable):
    """Redis could not be reached to send the query or read its vector."""


def results_backend(redis_url: str) -> RedisBackend:
    """The backend query results are read from (the workers' Results one)."""
    return RedisBackend(url=redis_url, namespace=RESULTS_NAMESPACE)  # type: ignore[no-untyped-call]


def embed_query(
    broker: dramatiq.Broker,
    query: str,
    *,
    tenant_id: str,
    timeout_ms: int = 5_000,
    backend: ResultBackend | None = None,
    model: str | None = None,
) -> list[float]:
    """The query's vector by ``model`` (default: the deployment's; blocking:
    call it from a thread in async code).

    ``backend``: where to read the result (default: the broker's Results
    middleware's; a send-only broker passes :func:`results_backend`)."""
    return embed_queries(
        broker, query, [model], tenant_id=tenant_id, timeout_ms=timeout_ms, backend=backend
    )[0]


def embed_queries(
    broker: dramatiq.Broker,
    query: str,
    models: Sequence[str | None],
    *,
    tenant_id: str,
    timeout_ms: int = 5_000,
    backend: ResultBackend | None = None,
) -> list[list[float]]:
    """The query's vector by each of ``models``, in their order: every
    message is sent before the first result is awaited, so the models
    embed it at the same time (blocking, like :func:`embed_query`)."""
    sent = send_queries(broker, query, models, tenant_id=tenant_id)
    return await_vectors(broker, sent, timeout_ms=timeout_ms, backend=backend)


def send_queries(
    broker: dramatiq.Broker, query: str, models: Sequence[str | None], *, tenant_id: str
) -> list[dramatiq.Message[object]]:
    """Send the query's ``queries.embed`` message for each of ``models``
    without waiting for the vectors (:func:`await_vectors` reads them), so
    the caller can do other work while a worker embeds the query. A vector
    never read expires with its result (the Results middleware's TTL)."""
    try:
        return [
            send_message(broker, EmbedQueryV1(query=query, tenant_id=tenant_id, model=model))
            for model in models
        ]
    except redis.TimeoutError as e:
        raise QueryTimeout("the query could not be embedded in time; try again") from e
    except redis.RedisError as e:
        raise RedisUnavailable("Redis is unavailable: the query could not be embedded") from e


def await_vectors(
    broker: dramatiq.Broker,
    sent: Sequence[dramatiq.Message[object]],
    *,
    timeout_ms: int = 5_000,
    backend: ResultBackend | None = None,
) -> list[list[float]]:
    """The vectors of the messages :func:`send_queries` sent, in their
    order, each awaited for at most ``timeout_ms`` (blocking)."""
    try:
        results = [
            message.get_result(
                backend=backend or broker.get_results_backend(), block=True, timeout=timeout_ms
            )
            for message in sent
        ]
    except (ResultTimeout, ResultMissing, redis.TimeoutError) as e:
        raise QueryTimeout("the query could not be embedded in time; try again") from e
    except redis.RedisError as e:
        raise RedisUnavailable("Redis is unavailable: the query could not be embedded") from e
    except ResultFailure as e:
        raise QueryTimeout(f"query embedding failed: {e}") from e
    return [[float(x) for x in result] for result in results]  # type: ignore[attr-defined]
