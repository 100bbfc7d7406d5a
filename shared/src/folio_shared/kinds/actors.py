"""A declared kind becomes a Dramatiq actor on the worker's broker.

:func:`bind` declares the actor named exactly like the kind, on the kind's
queue (and its priority sub-queues), with the kind's options as Dramatiq
options (``max_retries``, ``min_backoff``, ``max_backoff``, ``time_limit``,
and ``rate_limit`` / ``concurrency`` for the limits middleware). The actor
decodes the tagged payload (:meth:`Kind.decode`: an unknown version or an
invalid payload is a :class:`~folio_shared.errors.MessageError`, which the
job engine dead-letters at once), calls the function with its context, and
decides outcomes as Folio's own actors do
(:func:`folio_shared.jobs.actor.settle`).

An ``async def`` kind runs on the worker's event loop (Dramatiq's
``AsyncIO`` middleware): its worker thread only waits for it, so a worker
with many threads holds as many I/O-bound jobs in flight. A plain ``def``
kind runs in the worker thread itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dramatiq

from folio_shared.errors import ConfigurationError
from folio_shared.jobs.actor import actor_options, declare_queues, settle
from folio_shared.jobs.context import current_job
from folio_shared.kinds.context import JobContext, SyncJobContext
from folio_shared.kinds.kind import Kind


def dramatiq_options(kind: Kind) -> dict[str, Any]:
    """The Dramatiq actor options of ``kind``."""
    o = kind.options
    options = actor_options(
        time_limit_ms=o.time_limit_ms,
        max_retries=o.max_retries,
        min_backoff_ms=o.min_backoff_ms,
        max_backoff_ms=o.max_backoff_ms,
        throws=kind.throws,
    )
    if o.rate_limit is not None:
        options["rate_limit"] = o.rate_limit
    if o.concurrency is not None:
        options["concurrency"] = o.concurrency
    return options


def bind(kind: Kind, broker: dramatiq.Broker) -> dramatiq.Actor[..., Any]:
    """Declare ``kind``'s actor on ``broker`` (once; again is a no-op)."""
    if kind.name in broker.actors:
        existing: dramatiq.Actor[..., Any] = broker.get_actor(kind.name)
        return existing

    if kind.is_async:

        async def run(payload: dict[str, Any]) -> Any:
            value = kind.decode(payload)
            try:
                ctx = JobContext(kind.name, current_job(), broker)
                return kind.encode_result(await kind.fn(ctx, value))
            except BaseException as e:
                if not settle(e, kind.throws):
                    raise
                return None

        fn: Any = run
    else:

        def run_sync(payload: dict[str, Any]) -> Any:
            value = kind.decode(payload)
            try:
                ctx = SyncJobContext(JobContext(kind.name, current_job(), broker))
                return kind.encode_result(kind.fn(ctx, value))
            except BaseException as e:
                if not settle(e, kind.throws):
                    raise
                return None

        fn = run_sync
    fn.__name__ = fn.__qualname__ = kind.name.replace(".", "_")
    fn.__module__ = getattr(kind.fn, "__module__", __name__)
    try:
        actor: dramatiq.Actor[..., Any] = dramatiq.actor(  # type: ignore[call-overload]
            fn,
            actor_name=kind.name,
            queue_name=kind.queue,
            broker=broker,
            **dramatiq_options(kind),
        )
    except ValueError as e:  # an option no middleware of the broker declares
        raise ConfigurationError(f"kind {kind.name}: {e}", kind=kind.name) from e
    declare_queues(broker, kind.queue)
    return actor


def bind_all(kinds: Iterable[Kind], broker: dramatiq.Broker) -> dict[str, dramatiq.Actor[..., Any]]:
    """:func:`bind` every kind; returns the actors by kind name."""
    return {k.name: bind(k, broker) for k in kinds}
