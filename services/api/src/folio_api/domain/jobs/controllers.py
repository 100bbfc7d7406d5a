"""``/v1/jobs`` routes: submit a job of a declared kind, one job, the list,
cancel, retry and live events.

Tenant keys see their tenant's jobs; operator keys see every tenant's
(and submit jobs without a tenant, at any priority)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import (
    FromPath,
    FromQuery,
    HeaderParameter,
    JSONBody,
    Parameter,
    QueryParameter,
)
from litestar.response import ServerSentEvent

from folio_api.domain.auth.principal import Principal
from folio_api.domain.jobs import services, stats, submit
from folio_api.domain.jobs.schemas import JobCreate, JobOut, JobPage, job_out
from folio_api.domain.jobs.sse import job_event_response
from folio_api.errors import problem_responses
from folio_api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from folio_api.resources import get_resources
from folio_shared.db.enums import JobStatus

#: ``app.state`` key overriding the SSE heartbeat interval (seconds).
SSE_HEARTBEAT_KEY = "sse_heartbeat_s"


class JobsController(Controller):
    """Follow and steer the tenant's jobs."""

    path = "/jobs"
    tags = ["jobs"]

    @post(
        "/",
        summary="Run a job of a declared kind (now, after delay_ms, or at run_at)",
        description=(
            "The payload is checked against the kind's JSON schema (`GET /v1/job-types`): "
            "422 `invalid_payload` names each bad field, 422 `unknown_job_kind` lists the "
            "kinds there are. A tenant may be limited to some kinds (403 `kind_not_allowed`) "
            "and to a highest priority (default `high`): a higher one is refused with 403 "
            "`priority_not_allowed`, never lowered."
        ),
        status_code=202,
        responses=problem_responses(403, 422),
    )
    async def create_job(
        self, state: State, principal: NamedDependency[Principal], data: JSONBody[JobCreate]
    ) -> JobOut:
        job = await submit.submit(get_resources(state), principal.tenant_id, data)
        return job_out(job, full_errors=principal.is_operator)

    @get(
        "/",
        summary="List jobs, newest first",
        description=(
            "Filters: `type` (the job kind), `state` (or `status`), `since` (created at or "
            "after), `metadata.<key>=<value>` (labels given at submission; several are "
            "ANDed), `batch_id`, `document_id`, `top_level`."
        ),
        responses=problem_responses(),
    )
    async def list_jobs(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        status: FromQuery[JobStatus | None] = None,
        job_state: Annotated[
            JobStatus | None, QueryParameter(name="state", description="same as status")
        ] = None,
        kind: Annotated[
            str | None, QueryParameter(name="type", max_length=128, description="job kind")
        ] = None,
        since: FromQuery[datetime | None] = None,
        batch_id: FromQuery[uuid.UUID | None] = None,
        document_id: FromQuery[uuid.UUID | None] = None,
        top_level: Annotated[
            bool, Parameter(description="only jobs without a parent (no per-page jobs)")
        ] = False,
        created_after: FromQuery[datetime | None] = None,
        created_before: FromQuery[datetime | None] = None,
        cursor: Annotated[str | None, Parameter(max_length=512)] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> JobPage:
        where = services.JobFilter(
            status=job_state or status,
            kind=kind,
            batch_id=batch_id,
            document_id=document_id,
            top_level=top_level,
            created_after=since or created_after,
            created_before=created_before,
            metadata=services.metadata_filters(list(request.query_params.items())),
        )
        return await services.list_jobs(
            get_resources(state), principal.tenant_id, where, cursor=cursor, limit=limit
        )

    @get(
        "/stats",
        summary="Per job kind: counts by state, throughput, queue wait, run time, failures",
        description=(
            "Over the jobs created since `since` (default: the last 24 hours): counts by "
            "state, finished per minute, queue wait (start - first send) and run time "
            "(finish - start) p50/p95 in ms, failure rate ((failed + dead) / (succeeded + "
            "failed + dead)). Operator keys see every tenant's jobs."
        ),
        responses=problem_responses(),
    )
    async def job_stats(
        self,
        state: State,
        principal: NamedDependency[Principal],
        kind: Annotated[
            str | None, QueryParameter(name="type", max_length=128, description="job kind")
        ] = None,
        since: FromQuery[datetime | None] = None,
    ) -> stats.JobStats:
        return await stats.job_stats(
            get_resources(state), principal.tenant_id, kind=kind, since=since
        )

    @get(
        "/{job_id:uuid}",
        summary="A job: state, result, error, attempts, progress and timeline",
        responses=problem_responses(404),
    )
    async def get_job(
        self, state: State, principal: NamedDependency[Principal], job_id: FromPath[uuid.UUID]
    ) -> JobOut:
        return await services.job_detail(get_resources(state), principal.tenant_id, job_id)

    @post(
        "/{job_id:uuid}/cancel",
        summary="Cancel a job (queued: at once; running: at its next page)",
        status_code=200,
        responses=problem_responses(404, 409),
    )
    async def cancel(
        self, state: State, principal: NamedDependency[Principal], job_id: FromPath[uuid.UUID]
    ) -> JobOut:
        jobs = get_resources(state).jobs
        assert jobs is not None
        job = await jobs.cancel(job_id, tenant_id=principal.tenant_id)
        return job_out(job, full_errors=principal.is_operator)

    @post(
        "/{job_id:uuid}/retry",
        summary="Run a failed, dead or cancelled job again",
        status_code=202,
        responses=problem_responses(404, 409),
    )
    async def retry(
        self, state: State, principal: NamedDependency[Principal], job_id: FromPath[uuid.UUID]
    ) -> JobOut:
        jobs = get_resources(state).jobs
        assert jobs is not None
        job = await jobs.retry(job_id, tenant_id=principal.tenant_id)
        return job_out(job, full_errors=principal.is_operator)

    @get(
        "/{job_id:uuid}/events",
        summary="Live events (Server-Sent Events), replay from Last-Event-ID",
        description=(
            "`snapshot` first (without Last-Event-ID), then every `state` and `progress` "
            "event with its id, `: heartbeat` comments while idle; the stream ends after "
            "the terminal state event, or after FOLIO_API_SSE_MAX_DURATION_S (reconnect "
            "with Last-Event-ID). 429 with Retry-After past the open streams allowed per "
            "key or per API process."
        ),
        responses={
            200: ResponseSpec(str, description="text/event-stream", media_type="text/event-stream"),
            **problem_responses(404),
        },
    )
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
            tenant_id=principal.tenant_id,
            key_id=principal.key_id,
            last_event_id=last_event_id,
            heartbeat_s=float(state.get(SSE_HEARTBEAT_KEY, 15.0)),
        )
