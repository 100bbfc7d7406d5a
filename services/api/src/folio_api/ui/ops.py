"""Operator pages (operator keys only; a tenant's session gets 403):
queues with pause/resume, workers, jobs across tenants, the dead-letter
workbench (inspect, re-drive, purge), stalled jobs and the audit log.

Thin handlers over :mod:`folio_shared.ops`; every change is written to the
audit log as the ops API writes it (``api_key:<key id>``).
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, Parameter
from litestar.response import Redirect, Template

from folio_api.domain.auth.principal import Principal
from folio_api.domain.jobs import services as jobs_services
from folio_api.domain.jobs.schemas import JobOut
from folio_api.domain.jobs.services import JobFilter
from folio_api.domain.ops.controllers import audit_actor
from folio_api.resources import get_resources
from folio_api.ui import queries
from folio_api.ui.auth import csrf_guard, operator_page
from folio_api.ui.context import page
from folio_shared.db.enums import JobStatus
from folio_shared.errors import InvalidInput, JobNotFound
from folio_shared.ops import audit, dead, pause, queues, stalled, workers
from folio_shared.ops.dead import DeadFilter
from folio_shared.ops.selection import MAX_SELECTION, dead_filter, narrows

Text = Annotated[str | None, Parameter(max_length=1000)]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _uuid(value: str | None) -> uuid.UUID | None:
    with contextlib.suppress(ValueError, TypeError):
        return uuid.UUID(str(value).strip()) if value else None
    return None


def _choice(data: dict[str, Any]) -> tuple[list[uuid.UUID] | None, DeadFilter | None]:
    """The jobs a workbench form chose: the ticked ones, or with
    ``matching=on`` every dead job matching the form's filter."""
    if data.get("matching") == "on":
        flt = dead_filter(
            _text(data.get("queue")),
            None,
            _text(data.get("error_type")),
            _uuid(data.get("tenant")),
            None,
            None,
            MAX_SELECTION,
        )
        if not narrows(flt):
            raise InvalidInput("set a filter (queue, error type or tenant) to act on every match")
        return None, flt
    chosen = _ids(data)
    if not chosen:
        raise InvalidInput("choose at least one dead job (or every one matching the filter)")
    return chosen, None


def _text(value: Any) -> str | None:
    return str(value).strip() or None if isinstance(value, str) else None


def _ids(data: dict[str, Any]) -> list[uuid.UUID]:
    raw = data.get("job_id", [])
    values = raw if isinstance(raw, list) else [raw]
    ids = [_uuid(v) for v in values]
    return [i for i in ids if i is not None]


def _with_tenant(
    job: JobOut, tenant_id: uuid.UUID | None, names: dict[uuid.UUID, str]
) -> dict[str, Any]:
    """A row of the jobs across tenants: the job, its tenant's id and name."""
    name = names.get(tenant_id) if tenant_id else None
    return {"job": job, "tenant_id": tenant_id, "tenant": name}


class OpsPages(Controller):
    """``/ui/ops/...``."""

    path = "/ops"
    guards = [operator_page]
    include_in_schema = False

    @get("/queues")
    async def queues(self, request: Request[Any, Any, Any], state: State) -> Template:
        r = get_resources(state)
        stats = await queues.queue_stats(
            r.redis, r.settings.broker.namespace, engine=r.engine, minutes=5
        )
        paused = await pause.paused_queues(r.redis, r.settings.broker.namespace)
        assert r.sessions is not None
        async with r.sessions() as session:
            view = await queries.overview(session, None)
        return page(
            request,
            "ops_queues",
            "Queues",
            stats=stats,
            paused=paused,
            per_minute=view.per_minute,
            outbox=await stalled.outbox_backlog(r.engine),
        )

    @post("/queues/{queue:str}/{action:str}", guards=[csrf_guard], status_code=303)
    async def pause_resume(
        self,
        state: State,
        principal: NamedDependency[Principal],
        queue: FromPath[str],
        action: FromPath[str],
    ) -> Redirect:
        r = get_resources(state)
        name = await pause.known_queue(queue, r.engine)
        change = {"pause": pause.pause_queue, "resume": pause.resume_queue}.get(action)
        if change is None:
            raise InvalidInput(f"unknown queue action {action!r} (pause or resume)")
        await change(
            r.redis,
            r.settings.broker.namespace,
            name,
            engine=r.engine,
            actor=audit_actor(principal),
        )
        return Redirect("/ui/ops/queues", status_code=303)

    @get("/workers")
    async def workers(self, request: Request[Any, Any, Any], state: State) -> Template:
        r = get_resources(state)
        found = await workers.list_workers(r.redis, r.settings.broker.namespace)
        return page(request, "ops_workers", "Workers", workers=found)

    @get("/jobs")
    async def jobs(
        self,
        request: Request[Any, Any, Any],
        state: State,
        q: Text = None,
        status: Text = None,
        tenant: Text = None,
        kind: Text = None,
    ) -> Template:
        """Every tenant's jobs: one by id, or filtered by kind, state,
        tenant (its id or name) and error text; each row names its tenant."""
        r = get_resources(state)
        assert r.sessions is not None
        found: list[JobOut] = []
        notice = None
        job_id = _uuid(q)
        async with r.sessions() as session:
            tenant_id = await queries.find_tenant(session, tenant.strip()) if tenant else None
            suggestions = await queries.all_tenant_names(session)
        if tenant and tenant_id is None:
            notice = f"No tenant has the id or name {tenant.strip()!r}."
        elif job_id is not None:
            with contextlib.suppress(JobNotFound):
                found = [await jobs_services.job_detail(r, tenant_id, job_id)]
        else:
            status_ = None
            with contextlib.suppress(ValueError):
                status_ = JobStatus(status) if status else None
            where = JobFilter(status=status_, kind=kind or None, error_text=q or None)
            listed = await jobs_services.list_jobs(r, tenant_id, where, cursor=None, limit=100)
            found = listed.items
        async with r.sessions() as session:
            owners = await queries.job_tenants(session, {j.id for j in found})
            names = await queries.tenant_names(session, set(owners.values()))
        return page(
            request,
            "ops_jobs",
            "Jobs across tenants",
            jobs=[_with_tenant(j, owners.get(j.id), names) for j in found],
            notice=notice,
            q=q or "",
            status=status or "",
            tenant=tenant or "",
            tenants=suggestions,
            kind=kind or "",
            statuses=[s.value for s in JobStatus],
        )

    @get("/dead")
    async def dead_list(
        self,
        request: Request[Any, Any, Any],
        state: State,
        queue: Text = None,
        error_type: Text = None,
        tenant: Text = None,
    ) -> Template:
        flt = dead_filter(queue or None, None, error_type or None, _uuid(tenant), None, None, 200)
        found = await dead.list_dead(get_resources(state).engine, flt)
        return page(
            request,
            "ops_dead",
            "Dead letters",
            dead=found,
            queue=queue or "",
            error_type=error_type or "",
            tenant=tenant or "",
        )

    @get("/dead/{job_id:uuid}")
    async def dead_job(
        self, request: Request[Any, Any, Any], state: State, job_id: FromPath[uuid.UUID]
    ) -> Template:
        detail = await dead.inspect_job(get_resources(state).engine, job_id)
        return page(request, "ops_dead_job", "Job", detail=detail)

    @post("/dead/redrive", guards=[csrf_guard], status_code=303)
    async def redrive(
        self, state: State, principal: NamedDependency[Principal], data: Form
    ) -> Redirect:
        r = get_resources(state)
        assert r.jobs is not None
        options: dict[str, Any] = {}
        if data.get("force_ocr") == "on":
            options["force_ocr"] = True
        chosen, flt = _choice(data)
        await dead.redrive(
            r.jobs, job_ids=chosen, flt=flt, options=options or None, actor=audit_actor(principal)
        )
        return Redirect("/ui/ops/dead", status_code=303)

    @post("/dead/purge", guards=[csrf_guard], status_code=303)
    async def purge(
        self, state: State, principal: NamedDependency[Principal], data: Form
    ) -> Redirect:
        r = get_resources(state)
        assert r.jobs is not None
        chosen, flt = _choice(data)
        await dead.purge(r.jobs, job_ids=chosen, flt=flt, actor=audit_actor(principal))
        return Redirect("/ui/ops/dead", status_code=303)

    @get("/stalled")
    async def stalled(self, request: Request[Any, Any, Any], state: State) -> Template:
        r = get_resources(state)
        found = await stalled.find_stalled(
            r.engine, stall_after_ms=stalled.DEFAULT_STALL_AFTER_MS, limit=100
        )
        return page(
            request,
            "ops_stalled",
            "Stalled jobs",
            stalled=found,
            outbox=await stalled.outbox_backlog(r.engine),
        )

    @get("/audit")
    async def audit_log(self, request: Request[Any, Any, Any], state: State) -> Template:
        entries = await audit.recent(get_resources(state).engine, limit=200)
        return page(request, "ops_audit", "Audit log", entries=entries)
