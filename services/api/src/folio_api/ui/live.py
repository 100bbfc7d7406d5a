"""The upload page and the browser's live parts.

- ``GET /ui/upload``: drag and drop (or pick) files; each is sent by the
  page's script to ``POST /ui/upload`` (the same streamed multipart upload
  as ``POST /v1/documents``, CSRF token in ``X-CSRF-Token``), its upload
  progress shown from the browser's own counters, then its job followed.
- ``GET /ui/events``: the home page's figures, live
  (:mod:`folio_api.ui.overview`).
- ``GET /ui/jobs/{id}/events``: the job's Server-Sent Events (the upload
  and job pages follow it), exactly as
  ``GET /v1/jobs/{id}/events`` sends them, authenticated by the session
  cookie (``EventSource`` cannot send an ``Authorization`` header).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter
from litestar.response import ServerSentEvent, Template

from folio_api.domain.auth.principal import Principal
from folio_api.domain.documents import ingest
from folio_api.domain.documents.schemas import UploadOut, upload_out
from folio_api.domain.jobs.controllers import SSE_HEARTBEAT_KEY
from folio_api.domain.jobs.sse import job_event_response
from folio_api.resources import get_resources
from folio_api.ui.auth import csrf_guard, tenant_page
from folio_api.ui.context import page
from folio_api.ui.overview import overview_response
from folio_shared.messages import Priority


class LivePages(Controller):
    """Upload with live progress, and the cookie-authenticated event streams."""

    path = "/"
    guards = [tenant_page]
    include_in_schema = False

    @get("/upload")
    async def upload_page(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "upload", "Upload")

    @post("/upload", guards=[csrf_guard], request_max_body_size=None)
    async def upload(
        self, request: Request[Any, Any, Any], state: State, principal: NamedDependency[Principal]
    ) -> Response[UploadOut]:
        result = await ingest.upload_request(
            get_resources(state),
            principal.tenant(),
            request,
            process=True,
            priority=Priority.NORMAL,
        )
        return Response(upload_out(result), status_code=200 if result.duplicate else 201)

    @get("/events")
    async def overview_events(
        self, request: Request[Any, Any, Any], state: State, principal: NamedDependency[Principal]
    ) -> ServerSentEvent:
        return overview_response(
            request,
            get_resources(state),
            principal.tenant(),
            principal.key_id,
            heartbeat_s=float(state.get(SSE_HEARTBEAT_KEY, 15.0)),
        )

    @get("/jobs/{job_id:uuid}/events")
    async def events(
        self,
        state: State,
        principal: NamedDependency[Principal],
        job_id: FromPath[uuid.UUID],
        last_event_id: Annotated[
            str | None, HeaderParameter(name="Last-Event-ID", max_length=64)
        ] = None,
    ) -> ServerSentEvent:
        return await job_event_response(
            get_resources(state),
            job_id,
            tenant_id=principal.tenant(),
            key_id=principal.key_id,
            last_event_id=last_event_id,
            heartbeat_s=float(state.get(SSE_HEARTBEAT_KEY, 15.0)),
        )
