"""The benchmark's one message type: a tracked job that does nothing (or sleeps)."""

from __future__ import annotations

from typing import ClassVar

from folio_shared.messages import Message, Queue


class NoopV1(Message, frozen=True, kw_only=True, tag="bench.noop.v1"):
    """A job whose actor returns at once, or after ``sleep_ms`` milliseconds
    (default 0); ``job_id`` is the tracked job's id."""

    actor_name: ClassVar[str] = "bench.noop"
    queue: ClassVar[Queue] = Queue.DOCUMENTS
    job_id: str
    sleep_ms: int = 0
