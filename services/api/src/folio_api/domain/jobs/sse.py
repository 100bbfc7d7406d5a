"""A job's live events as Server-Sent Events.

The stream, for ``GET /v1/jobs/{id}/events``:

1. Without ``Last-Event-ID``: first a ``snapshot`` event (no id) with the
   job as ``GET /v1/jobs/{id}`` returns it.
2. Every event of the job's Redis stream after ``Last-Event-ID`` (all of
   them without it), each with its stream id as ``id`` (so a reconnecting
   client resumes exactly where it stopped), ``event`` = ``state`` or
   ``progress``, and its JSON ``data``.
3. Then new events as they come; a comment line (``: heartbeat``) every
   ``heartbeat_s`` seconds (default 15) while nothing happens, so proxies
   keep the connection open.
4. The stream ends after the terminal ``state`` event (``succeeded``,
   ``failed``, ``dead``, ``cancelled``). PostgreSQL is checked every
   ``check_s`` seconds (default 5) too: if the job finished but its stream
   lost the terminal event (Redis flushed or down), one is synthesised from
   the job row (``"synthesized": true``, no id) and the stream ends.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar.response import ServerSentEventMessage

from folio_api.domain.jobs.schemas import job_out
from folio_api.resources import Resources
from folio_shared.db.models import Job
from folio_shared.errors import InvalidInput
from folio_shared.jobs import events
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: A Redis stream id, the only valid ``Last-Event-ID``.
EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
#: How long one blocking read waits, in ms (under the Redis client's timeout).
BLOCK_MS = 1000


def check_last_event_id(value: str | None) -> str | None:
    """``Last-Event-ID`` as given, or 400 when it is not a stream id."""
    if value is None or value == "":
        return None
    if not EVENT_ID.fullmatch(value.strip()):
        raise InvalidInput("header 'Last-Event-ID': not an event id this API sent")
    return value.strip()


def _event(event: events.JobEvent) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=json.dumps(event.data), event=event.type, id=event.id)


def _final_event(job: Job) -> ServerSentEventMessage:
    data: dict[str, Any] = {"status": str(job.status), "synthesized": True}
    if job.error_type or job.error_message:
        data["error"] = {"type": job.error_type, "message": job.error_message}
    return ServerSentEventMessage(data=json.dumps(data), event="state")


async def stream_job_events(
    resources: Resources,
    job: Job,
    *,
    last_event_id: str | None,
    heartbeat_s: float = 15.0,
    check_s: float = 5.0,
) -> AsyncIterator[ServerSentEventMessage]:
    """The SSE messages of ``job`` (already checked to be the caller's)."""
    assert resources.jobs is not None
    jobs = resources.jobs
    after = last_event_id
    if after is None:
        yield ServerSentEventMessage(
            data=msgspec.json.encode(job_out(job)).decode(), event="snapshot"
        )
    job_id: uuid.UUID = job.id
    last_sent = last_check = time.monotonic()
    finished = job.status.is_final
    while True:
        try:
            batch = await events.read(
                resources.redis, job_id, after=after, block_ms=None if finished else BLOCK_MS
            )
        except Exception as e:  # Redis away: fall back to the job row
            log.debug("job events unavailable", job_id=str(job_id), error=repr(e))
            batch = []
            if not finished:
                await asyncio.sleep(BLOCK_MS / 1000)
                last_check = 0.0
        for event in batch:
            yield _event(event)
            after = event.id
            last_sent = time.monotonic()
            if event.terminal:
                return
        if finished and not batch:
            yield _final_event(job)
            return
        now = time.monotonic()
        if now - last_check >= check_s:
            last_check = now
            job = await jobs.get(job_id)
            finished = job.status.is_final  # read the stream once more, then end
        if not batch and now - last_sent >= heartbeat_s:
            yield ServerSentEventMessage(data=None, comment="heartbeat")
            last_sent = now
