"""A job's live events as Server-Sent Events.

The stream, for ``GET /v1/jobs/{id}/events``:

1. Without ``Last-Event-ID``: first a ``snapshot`` event (no id) with the
   job as ``GET /v1/jobs/{id}`` returns it.
2. Every event of the job's Redis stream after ``Last-Event-ID`` (all of
   them without it), each with its stream id as ``id`` (so a reconnecting
   client resumes exactly where it stopped), ``event`` = ``state`` or
   ``progress``, and its JSON ``data``.
3. Then new events as they come (the process's one
   :class:`~folio_api.domain.jobs.hub.StreamHub` reader says when); a
   comment line (``: heartbeat``) every ``heartbeat_s`` seconds (default
   15) while nothing happens, so proxies keep the connection open.
4. The stream ends after the terminal ``state`` event (``succeeded``,
   ``failed``, ``dead``, ``cancelled``) of the job's current run: a retry
   or re-drive starts a new run, whose feed starts again
   (:func:`folio_shared.jobs.events.start_run`), and a terminal event the
   job row does not confirm (an earlier run's, left if Redis failed at the
   retry: its status is not the row's) is skipped. PostgreSQL is checked every
   ``check_s`` seconds (default 5) too: if the job finished but its stream
   lost the terminal event (Redis flushed or down), one is synthesised from
   the job row (``"synthesized": true``, no id) and the stream ends.
5. A stream open for ``max_duration_s`` (``FOLIO_API_SSE_MAX_DURATION_S``)
   ends without a terminal event; the client reconnects with the last
   ``Last-Event-ID`` it got and resumes there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar.response import ServerSentEvent, ServerSentEventMessage

from folio_api.domain.jobs.hub import Follower
from folio_api.domain.jobs.schemas import job_out
from folio_api.resources import Resources
from folio_shared.db.models import Job
from folio_shared.errors import InvalidInput
from folio_shared.jobs import events
from folio_shared.jobs.public_errors import tenant_message
from folio_shared.logging import get_logger

log = get_logger(__name__)

#: A Redis stream id, the only valid ``Last-Event-ID``.
EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
#: How often the job row is checked while Redis cannot be read, in seconds.
REDIS_DOWN_CHECK_S = 1.0


def check_last_event_id(value: str | None) -> str | None:
    """``Last-Event-ID`` as given, or 400 when it is not a stream id."""
    if value is None or value == "":
        return None
    if not EVENT_ID.fullmatch(value.strip()):
        raise InvalidInput("header 'Last-Event-ID': not an event id this API sent")
    return value.strip()


async def check_last_event_sent(resources: Resources, job_id: uuid.UUID, after: str | None) -> None:
    """400 when ``after`` is an id within or past the job's feed that the
    feed does not hold: one this API never sent
    (:func:`folio_shared.jobs.events.may_have_sent`)."""
    if after is not None and not await events.may_have_sent(resources.redis, job_id, after):
        raise InvalidInput("header 'Last-Event-ID': not an event id this API sent")


def _event(event: events.JobEvent) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=json.dumps(event.data), event=event.type, id=event.id)


def _final_event(job: Job) -> ServerSentEventMessage:
    data: dict[str, Any] = {"status": str(job.status), "synthesized": True}
    if job.error_type or job.error_message:
        message = tenant_message(job.status, job.cause, job.error_type, job.error_message)
        data["error"] = {"type": job.error_type, "message": message}
    return ServerSentEventMessage(data=json.dumps(data), event="state")


async def job_event_response(
    resources: Resources,
    job_id: uuid.UUID,
    *,
    tenant_id: uuid.UUID | None,
    key_id: uuid.UUID,
    last_event_id: str | None,
    heartbeat_s: float,
) -> ServerSentEvent:
    """The answer of a job's event stream: the job checked to be
    ``tenant_id``'s (``None``: any tenant's), ``Last-Event-ID`` checked, the
    stream admitted for ``key_id`` (429 past the limits). Used by
    ``GET /v1/jobs/{id}/events`` and the dashboard's cookie-authenticated
    twin."""
    assert resources.jobs is not None
    assert resources.streams is not None
    after = check_last_event_id(last_event_id)
    job = await resources.jobs.get(job_id, tenant_id=tenant_id)
    await check_last_event_sent(resources, job.id, after)
    follower = await resources.streams.admit(job.id, key_id=key_id, after=after)
    return ServerSentEvent(
        stream_job_events(
            resources,
            follower,
            job,
            last_event_id=after,
            heartbeat_s=heartbeat_s,
            max_duration_s=resources.settings.api.sse_max_duration_s,
        ),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def stream_job_events(
    resources: Resources,
    follower: Follower,
    job: Job,
    *,
    last_event_id: str | None,
    heartbeat_s: float = 15.0,
    check_s: float = 5.0,
    max_duration_s: float = 900.0,
) -> AsyncIterator[ServerSentEventMessage]:
    """The SSE messages of ``job`` (already checked to be the caller's),
    woken by the process's :class:`~folio_api.domain.jobs.hub.StreamHub`
    through ``follower``, which is released when the stream ends."""
    assert resources.streams is not None
    try:
        async for message in _messages(
            resources, follower, job, last_event_id, heartbeat_s, check_s, max_duration_s
        ):
            yield message
    finally:
        resources.streams.release(follower)


async def _messages(
    resources: Resources,
    follower: Follower,
    job: Job,
    after: str | None,
    heartbeat_s: float,
    check_s: float,
    max_duration_s: float,
) -> AsyncIterator[ServerSentEventMessage]:
    assert resources.jobs is not None
    jobs = resources.jobs
    if after is None:
        yield ServerSentEventMessage(
            data=msgspec.json.encode(job_out(job)).decode(), event="snapshot"
        )
    job_id: uuid.UUID = job.id
    started = last_sent = last_check = time.monotonic()
    finished = job.status.is_final
    while True:
        follower.woken.clear()  # before the read: a wake-up after it is not lost
        every = check_s
        try:
            batch = await events.read(resources.redis, job_id, after=after)
        except Exception as e:  # Redis away: fall back to the job row
            log.debug("job events unavailable", job_id=str(job_id), error=repr(e))
            batch, every = [], REDIS_DOWN_CHECK_S
        for event in batch:
            after = event.id
            if event.terminal:
                job = await jobs.get(job_id)
                finished = job.status.is_final
                if str(job.status) != event.data.get("status"):
                    continue  # an earlier run's end, not the job's now
            yield _event(event)
            last_sent = time.monotonic()
            if event.terminal:
                return
        if finished and not batch:
            yield _final_event(job)
            return
        if batch:
            continue  # there may be more than one read's worth
        now = time.monotonic()
        if now - started >= max_duration_s:
            return  # the client reconnects with Last-Event-ID
        if now - last_check >= every:
            last_check = now
            job = await jobs.get(job_id)
            finished = job.status.is_final  # read the stream once more, then end
            continue
        if now - last_sent >= heartbeat_s:
            yield ServerSentEventMessage(data=None, comment="heartbeat")
            last_sent = now
        wait_s = min(
            every - (now - last_check),
            heartbeat_s - (now - last_sent),
            max_duration_s - (now - started),
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(follower.woken.wait(), max(wait_s, 0.01))
