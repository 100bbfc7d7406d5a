"""Declaring a job actor: one message type in, outcomes decided on purpose.

::

    @job_actor(ProcessDocumentV1, time_limit_ms=30 * 60_000)
    async def process_document(msg: ProcessDocumentV1) -> dict[str, Any] | None: ...

The actor's dotted name and queue come from the message type, so renaming
the function never changes the wire. The function may also be a plain
``def``: it then runs on the worker thread itself, as a synchronous job
kind's does (:mod:`folio_shared.kinds`), without a hand-off to the
worker's event loop and back; that suits CPU-bound work and jobs with
nothing to await. The job engine around it is the same (claim, outcome,
events, metrics, traces, retries, time limits, rate limits, pause), but
:func:`~folio_shared.jobs.progress` is a coroutine, so a plain ``def``
actor reports no progress and has no cancellation point. The decorator:

- decodes the payload into the message type (also older or newer majors
  listed in ``also``); an undecodable message or an unknown major version
  raises a :class:`~folio_shared.errors.MessageError`, which the job engine
  sends to the dead-letter queue at once with that reason;
- turns a non-retryable :class:`~folio_shared.errors.FolioError` (an
  unsupported file, a missing document) or an exception listed in
  ``throws`` into a *failed* job with a readable reason — no retry, and no
  dead letter, since re-driving it could not succeed;
- lets every other exception (database, storage, broker: transient)
  propagate, to be retried with exponential backoff and jitter, then
  dead-lettered when the attempts are used;
- turns :class:`~folio_shared.errors.JobCancelled` (raised by
  ``progress()``) into a cancelled job;
- declares the priority sub-queues of the actor's queue, so a worker
  consumes them all.

Options (Dramatiq's own, validated when the actor is declared: an unknown
option fails at import time): ``time_limit_ms`` (per attempt), ``max_retries``
(caps the job row's), ``min_backoff_ms`` / ``max_backoff_ms``, ``throws``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import dramatiq
import msgspec

from folio_shared.errors import FolioError, InvalidMessage, JobCancelled, MessageError
from folio_shared.jobs.context import current_job_or_none
from folio_shared.messages import Message, Queue, decode_as, physical_queue_names

M = TypeVar("M", bound=Message)


def job_actor(
    message_type: type[M],
    *,
    also: tuple[type[Message], ...] = (),
    time_limit_ms: int | None = None,
    max_retries: int | None = None,
    min_backoff_ms: int | None = None,
    max_backoff_ms: int | None = None,
    throws: tuple[type[BaseException], ...] = (),
    broker: dramatiq.Broker | None = None,
) -> Callable[[Callable[[M], Any]], dramatiq.Actor[..., Any]]:
    """Declare ``fn`` (``async def`` or ``def``) as the actor of
    ``message_type`` (see module doc)."""
    types: tuple[type[Message], ...] = (message_type, *also)
    by_tag = {t.type_tag(): t for t in types}

    def decode(payload: Any) -> Message:
        tag = payload.get("type") if isinstance(payload, dict) else None
        cls = by_tag.get(tag) if isinstance(tag, str) else None
        if cls is None:
            return decode_as(payload, types)  # raises the precise MessageError
        try:
            return msgspec.convert(payload, cls)
        except msgspec.ValidationError as e:
            raise InvalidMessage(f"invalid {tag} message: {e}", tag=tag) from e

    def decorate(fn: Callable[[M], Any]) -> dramatiq.Actor[..., Any]:
        @functools.wraps(fn)
        async def run(payload: dict[str, Any]) -> Any:
            msg = decode(payload)
            try:
                return await fn(msg)  # type: ignore[arg-type]
            except BaseException as e:
                if not settle(e, throws):
                    raise
                return None

        @functools.wraps(fn)
        def run_sync(payload: dict[str, Any]) -> Any:
            msg = decode(payload)
            try:
                return fn(msg)  # type: ignore[arg-type]
            except BaseException as e:
                if not settle(e, throws):
                    raise
                return None

        options = actor_options(
            time_limit_ms=time_limit_ms,
            max_retries=max_retries,
            min_backoff_ms=min_backoff_ms,
            max_backoff_ms=max_backoff_ms,
            throws=throws,
        )
        actor: dramatiq.Actor[..., Any] = dramatiq.actor(  # type: ignore[call-overload]
            run if inspect.iscoroutinefunction(fn) else run_sync,
            actor_name=message_type.actor_name,
            queue_name=message_type.queue.value,
            broker=broker,
            **options,
        )
        declare_queues(actor.broker, message_type.queue)
        return actor

    return decorate


def settle(e: BaseException, throws: tuple[type[BaseException], ...] = ()) -> bool:
    """Record on the running job what ``e`` means when it ends the job
    without a retry: ``cancelled`` (:class:`JobCancelled`) or ``failed`` (a
    non-retryable :class:`FolioError`, or one of ``throws``). ``False``: the
    caller re-raises it (a retry, a dead letter for a
    :class:`MessageError`, or no tracked job)."""
    ctx = current_job_or_none()
    if ctx is None:
        return False
    if isinstance(e, JobCancelled):
        ctx.cancelled = True
        return True
    if not isinstance(e, (FolioError, *throws)) or isinstance(e, MessageError):
        return False
    if isinstance(e, FolioError) and e.retryable and not isinstance(e, throws):
        return False
    ctx.failure = e
    return True


def actor_options(
    *,
    time_limit_ms: int | None = None,
    max_retries: int | None = None,
    min_backoff_ms: int | None = None,
    max_backoff_ms: int | None = None,
    throws: tuple[type[BaseException], ...] = (),
) -> dict[str, Any]:
    """Dramatiq's actor options for Folio's names (``*_ms``); unset ones left out."""
    options: dict[str, Any] = {}
    if time_limit_ms is not None:
        options["time_limit"] = time_limit_ms
    if max_retries is not None:
        options["max_retries"] = max_retries
    if min_backoff_ms is not None:
        options["min_backoff"] = min_backoff_ms
    if max_backoff_ms is not None:
        options["max_backoff"] = max_backoff_ms
    if throws:
        options["throws"] = throws
    return options


def declare_queues(broker: dramatiq.Broker, queue: Queue | str) -> None:
    """Declare every priority sub-queue of ``queue`` on ``broker``, so a
    worker consumes them all."""
    for name in physical_queue_names(queue):
        if name not in broker.get_declared_queues():
            broker.declare_queue(name)
