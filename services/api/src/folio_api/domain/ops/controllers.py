"""``/v1/ops`` routes (operator keys only): queues, workers, the dead-letter
workbench, queue pauses and stalled jobs.

Thin handlers over :mod:`folio_shared.ops`. Every change (re-drive, purge,
pause, resume) is written to the audit log with ``api_key:<key id>`` as the
actor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from litestar import Controller, Router, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from folio_api.domain.auth.guards import (
    AuthMiddleware,
    dependencies,
    require_operator,
    security_requirement,
)
from folio_api.domain.auth.principal import Principal
from folio_api.domain.ops.schemas import (
    AuditEntryOut,
    AuditOut,
    DeadJobOut,
    DeadJobsOut,
    DeadSelection,
    JobDetailOut,
    PauseOut,
    PurgeOut,
    QueueOut,
    QueuesOut,
    RedriveIn,
    RedriveOut,
    StalledJobOut,
    StalledJobsOut,
    WorkerOut,
    WorkersOut,
    convert,
    selection,
)
from folio_api.errors import problem_responses
from folio_api.params import NO_NUL
from folio_api.resources import Resources, get_resources
from folio_shared.jobs import Jobs
from folio_shared.ops import audit, dead, pause, queues, stalled, workers
from folio_shared.ops.selection import MAX_SELECTION, dead_filter


def audit_actor(principal: NamedDependency[Principal]) -> str:
    """How the audit log names the operator key that acted."""
    return f"api_key:{principal.key_id}"


def _jobs(resources: Resources) -> Jobs:
    if resources.jobs is None:
        raise RuntimeError("the job service is not open")
    return resources.jobs


class OpsController(Controller):
    """See and steer queues, workers and dead jobs."""

    path = "/"
    tags = ["ops"]

    @get(
        "/queues",
        summary="Depth, age and throughput of every queue",
        responses=problem_responses(403),
    )
    async def list_queues(
        self,
        state: State,
        minutes: Annotated[
            int, Parameter(ge=1, le=120, description="throughput window, in minutes")
        ] = 5,
    ) -> QueuesOut:
        r = get_resources(state)
        stats = await queues.queue_stats(
            r.redis, r.settings.broker.namespace, engine=r.engine, minutes=minutes
        )
        return QueuesOut(minutes=minutes, items=[convert(s, QueueOut) for s in stats])

    @get("/workers", summary="Live worker processes", responses=problem_responses(403))
    async def list_workers(self, state: State) -> WorkersOut:
        r = get_resources(state)
        found = await workers.list_workers(r.redis, r.settings.broker.namespace)
        return WorkersOut(items=[convert(w, WorkerOut) for w in found])

    @get(
        "/dead", summary="Dead jobs, filtered, most recent first", responses=problem_responses(403)
    )
    async def list_dead(
        self,
        state: State,
        queue: Annotated[str | None, Parameter(max_length=100, pattern=NO_NUL)] = None,
        actor: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
        error_type: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
        tenant_id: FromQuery[uuid.UUID | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_SELECTION)] = 100,
    ) -> DeadJobsOut:
        flt = dead_filter(queue, actor, error_type, tenant_id, since, until, limit)
        found = await dead.list_dead(get_resources(state).engine, flt)
        return DeadJobsOut(items=[convert(j, DeadJobOut) for j in found])

    @get(
        "/dead/{job_id:uuid}",
        summary="A job: payload and every attempt with its error and traceback",
        responses=problem_responses(403, 404),
    )
    async def inspect_dead(self, state: State, job_id: FromPath[uuid.UUID]) -> JobDetailOut:
        detail = await dead.inspect_job(get_resources(state).engine, job_id)
        out: JobDetailOut = convert(detail, JobDetailOut)
        return out

    @post(
        "/dead/redrive",
        summary="Run dead jobs again, optionally with changed payload options",
        status_code=200,
        responses=problem_responses(403),
    )
    async def redrive(
        self, state: State, principal: NamedDependency[Principal], data: JSONBody[RedriveIn]
    ) -> RedriveOut:
        chosen = selection(data.job_ids, data.filter, data.all)
        report = await dead.redrive(
            _jobs(get_resources(state)),
            job_ids=chosen.job_ids,
            flt=chosen.flt,
            options=data.options or None,
            actor=audit_actor(principal),
        )
        return RedriveOut(redriven=report.redriven, skipped=report.skipped)

    @post(
        "/dead/purge",
        summary="Delete dead jobs and their dead-letter messages",
        status_code=200,
        responses=problem_responses(403),
    )
    async def purge(
        self, state: State, principal: NamedDependency[Principal], data: JSONBody[DeadSelection]
    ) -> PurgeOut:
        chosen = selection(data.job_ids, data.filter, data.all)
        gone = await dead.purge(
            _jobs(get_resources(state)),
            job_ids=chosen.job_ids,
            flt=chosen.flt,
            actor=audit_actor(principal),
        )
        return PurgeOut(purged=gone)

    @post(
        "/queues/{queue:str}/pause",
        summary="Stop workers taking a queue's messages (sending still works)",
        status_code=200,
        responses=problem_responses(403),
    )
    async def pause_queue(
        self, state: State, principal: NamedDependency[Principal], queue: FromPath[str]
    ) -> PauseOut:
        r = get_resources(state)
        name = await pause.known_queue(queue, r.engine)
        changed = await pause.pause_queue(
            r.redis,
            r.settings.broker.namespace,
            name,
            engine=r.engine,
            actor=audit_actor(principal),
        )
        return PauseOut(queue=name, paused=True, changed=changed)

    @post(
        "/queues/{queue:str}/resume",
        summary="Let workers take a queue's messages again",
        status_code=200,
        responses=problem_responses(403),
    )
    async def resume_queue(
        self, state: State, principal: NamedDependency[Principal], queue: FromPath[str]
    ) -> PauseOut:
        r = get_resources(state)
        name = await pause.known_queue(queue, r.engine)
        changed = await pause.resume_queue(
            r.redis,
            r.settings.broker.namespace,
            name,
            engine=r.engine,
            actor=audit_actor(principal),
        )
        return PauseOut(queue=name, paused=False, changed=changed)

    @get(
        "/stalled",
        summary="Running jobs whose progress stopped moving",
        responses=problem_responses(403),
    )
    async def list_stalled(
        self,
        state: State,
        stall_after_ms: Annotated[
            int, Parameter(ge=1, description="stall threshold, in milliseconds")
        ] = stalled.DEFAULT_STALL_AFTER_MS,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> StalledJobsOut:
        found = await stalled.find_stalled(
            get_resources(state).engine, stall_after_ms=stall_after_ms, limit=limit
        )
        return StalledJobsOut(
            stall_after_ms=stall_after_ms, items=[convert(j, StalledJobOut) for j in found]
        )

    @get("/audit", summary="The audit log, newest first", responses=problem_responses(403))
    async def list_audit(
        self,
        state: State,
        action: Annotated[
            str | None,
            Parameter(max_length=100, pattern=NO_NUL, description="action prefix, e.g. dead."),
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 50,
    ) -> AuditOut:
        found = await audit.recent(get_resources(state).engine, action_prefix=action, limit=limit)
        return AuditOut(items=[convert(e, AuditEntryOut) for e in found])


def ops_router() -> Router:
    """``/v1/ops``: every route needs an operator key (a tenant key gets 403)."""
    return Router(
        "/v1/ops",
        route_handlers=[OpsController],
        middleware=[AuthMiddleware(require_operator)],
        dependencies=dependencies,
        security=security_requirement,
    )
