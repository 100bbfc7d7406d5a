"""The home page's figures, and their live feed ``GET /ui/events``.

The figures (jobs by state and kind over 24 hours, jobs finished per
minute over the last hour, recent failures) come from
:func:`overview_context`, for the page and for the feed alike.

The feed is Server-Sent Events, authenticated by the session cookie: an
``overview`` event whose data is the figures' HTML (``ui/_overview.html``),
sent at once and then whenever the tenant's jobs change. A job's state and
progress live in its own Redis stream, which names no tenant, so the feed
watches PostgreSQL instead: every ``check_s`` seconds (default 2) one
indexed query (:func:`queries.change_mark`) reads a mark of the tenant's
jobs of the last 24 hours, and the figures are rendered again only when the
mark moved. A ``: heartbeat`` comment keeps an idle connection open; the
feed ends after ``FOLIO_API_SSE_MAX_DURATION_S`` and the browser's
``EventSource`` reconnects. At most ``FOLIO_API_SSE_STREAMS_PER_KEY`` feeds
are open per key in one API process (429 past it).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.response import ServerSentEvent, ServerSentEventMessage

from folio_api.domain.jobs import stats
from folio_api.domain.jobs.hub import TooManyStreams
from folio_api.resources import Resources
from folio_api.ui import queries
from folio_shared.db.enums import JobStatus

#: How often the feed reads the tenant's change mark, in seconds.
CHECK_S = 2.0
#: Overview feeds open in this process, per API key id.
_OPEN: Counter[str] = Counter()


async def overview_context(resources: Resources, tenant_id: uuid.UUID) -> dict[str, Any]:
    """What ``ui/_overview.html`` shows for ``tenant_id``."""
    assert resources.sessions is not None
    async with resources.sessions() as session:
        view = await queries.overview(session, tenant_id)
    figures = await stats.job_stats(resources, tenant_id, kind=None, since=None)
    return {
        "overview": view,
        "stats": figures,
        "states": [s.value for s in JobStatus],
        "total_minute": sum(view.per_minute),
    }


def overview_response(
    request: Request[Any, Any, Any],
    resources: Resources,
    tenant_id: uuid.UUID,
    key_id: uuid.UUID,
    *,
    heartbeat_s: float,
    check_s: float = CHECK_S,
) -> ServerSentEvent:
    """The feed of ``tenant_id``'s figures, admitted for ``key_id``."""
    key = str(key_id)
    cap = resources.settings.api.sse_streams_per_key
    if _OPEN[key] >= cap:
        raise TooManyStreams(
            f"this API key has {cap} overview streams open, its maximum; close one or retry in 5 s",
            retry_after_s=5,
        )
    _OPEN[key] += 1
    return ServerSentEvent(
        _feed(request, resources, tenant_id, key, heartbeat_s, check_s),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _feed(
    request: Request[Any, Any, Any],
    resources: Resources,
    tenant_id: uuid.UUID,
    key: str,
    heartbeat_s: float,
    check_s: float,
) -> AsyncIterator[ServerSentEventMessage]:
    assert resources.sessions is not None
    template = request.app.template_engine.get_template("ui/_overview.html")  # type: ignore[union-attr]
    max_duration_s = resources.settings.api.sse_max_duration_s
    started = last_sent = time.monotonic()
    mark: tuple[Any, ...] | None = None
    try:
        while time.monotonic() - started < max_duration_s:
            async with resources.sessions() as session:
                now_mark = await queries.change_mark(session, tenant_id)
            if now_mark != mark:
                mark = now_mark
                html = template.render(**await overview_context(resources, tenant_id))
                yield ServerSentEventMessage(data=" ".join(html.split("\n")), event="overview")
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= heartbeat_s:
                yield ServerSentEventMessage(data=None, comment="heartbeat")
                last_sent = time.monotonic()
            await asyncio.sleep(check_s)
    finally:
        _OPEN[key] -= 1
        if not _OPEN[key]:
            del _OPEN[key]
