"""A tenant's pages: home, documents, jobs and search. Thin handlers over
the API's services, scoped to the session's tenant exactly as ``/v1`` is
(another tenant's document or job is a 404)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, Parameter
from litestar.response import Redirect, Template

from folio_api.domain.auth.principal import Principal
from folio_api.domain.documents import ingest
from folio_api.domain.documents import services as documents
from folio_api.domain.documents.download import file_response
from folio_api.domain.documents.schemas import DocumentOut, ProcessRequest
from folio_api.domain.fields.services import FieldsNotReady, get_fields
from folio_api.domain.jobs import services as jobs_services
from folio_api.domain.jobs import stats
from folio_api.domain.jobs.schemas import job_out
from folio_api.domain.jobs.services import JobFilter
from folio_api.domain.search.repository import SearchFilters, SearchGroup, SearchMode
from folio_api.domain.search.services import run_search
from folio_api.pagination import DEFAULT_LIMIT
from folio_api.resources import get_resources
from folio_api.ui import queries
from folio_api.ui.auth import csrf_guard, tenant_page
from folio_api.ui.context import page
from folio_api.ui.overview import overview_context
from folio_api.ui.pageimage import PAGE_IMAGES, PAGED_KINDS
from folio_shared.db.enums import DocumentKind, DocumentStatus, JobStatus
from folio_shared.errors import DocumentStateConflict, FolioError, InvalidInput
from folio_shared.ops import dead

Text = Annotated[str | None, Parameter(max_length=1000)]
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def _day(value: str | None) -> datetime | None:
    """A ``YYYY-MM-DD`` date field as midnight UTC (empty or bad: no filter)."""
    with contextlib.suppress(ValueError, TypeError):
        return datetime.strptime(str(value), "%Y-%m-%d").replace(tzinfo=UTC) if value else None
    return None


def _enum(kind: Any, value: str | None) -> Any:
    """``value`` as a member of ``kind``, or ``None`` (empty or unknown: no filter)."""
    with contextlib.suppress(ValueError):
        return kind(value) if value else None
    return None


class TenantPages(Controller):
    """Home, documents, jobs and search of the signed-in tenant."""

    path = "/"
    guards = [tenant_page]
    include_in_schema = False

    @get("/")
    async def home(
        self, request: Request[Any, Any, Any], state: State, principal: NamedDependency[Principal]
    ) -> Template:
        figures = await overview_context(get_resources(state), principal.tenant())
        return page(request, "home", "Home", **figures)

    @get("/documents")
    async def documents(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        status: Text = None,
        kind: Text = None,
        since: Text = None,
        cursor: Text = None,
    ) -> Template:
        found = await documents.list_documents(
            get_resources(state),
            principal.tenant(),
            status=_enum(DocumentStatus, status),
            kind=_enum(DocumentKind, kind),
            created_after=_day(since),
            created_before=None,
            cursor=cursor or None,
            limit=DEFAULT_LIMIT,
        )
        return page(
            request,
            "documents",
            "Documents",
            documents=found,
            status=status or "",
            kind=kind or "",
            since=since or "",
            statuses=[s.value for s in DocumentStatus],
            kinds=[k.value for k in DocumentKind],
        )

    @get("/documents/{document_id:uuid}")
    async def document(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        document_id: FromPath[uuid.UUID],
    ) -> Template:
        r = get_resources(state)
        doc = await documents.get_document(r, principal.tenant(), document_id)
        text = None
        with contextlib.suppress(DocumentStateConflict):
            text = await documents.get_text(r, principal.tenant(), document_id, None)
        chunks = await documents.list_chunks(r, principal.tenant(), document_id, after=-1, limit=50)
        fields = None
        with contextlib.suppress(FieldsNotReady):
            fields = await get_fields(r, principal.tenant(), document_id)
        return page(
            request,
            "document",
            doc.filename,
            doc=doc,
            text=text,
            chunks=chunks,
            fields=fields,
            paged=doc.kind in {k.value for k in PAGED_KINDS},
        )

    @get("/documents/{document_id:uuid}/status")
    async def document_status(
        self, state: State, principal: NamedDependency[Principal], document_id: FromPath[uuid.UUID]
    ) -> DocumentOut:
        """The document as ``GET /v1/documents/{id}`` answers it (the upload page reads it)."""
        return await documents.get_document(get_resources(state), principal.tenant(), document_id)

    @get("/documents/{document_id:uuid}/pages/{page_no:int}/image")
    async def page_image(
        self,
        state: State,
        principal: NamedDependency[Principal],
        document_id: FromPath[uuid.UUID],
        page_no: FromPath[int],
    ) -> Response[bytes]:
        png = await PAGE_IMAGES.render(
            get_resources(state), principal.tenant(), document_id, page_no
        )
        return Response(
            png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"}
        )

    @get("/documents/{document_id:uuid}/file")
    async def download(
        self, state: State, principal: NamedDependency[Principal], document_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        return await file_response(get_resources(state), principal.tenant(), document_id)

    @post("/documents/{document_id:uuid}/reprocess", guards=[csrf_guard], status_code=303)
    async def reprocess(
        self,
        state: State,
        principal: NamedDependency[Principal],
        document_id: FromPath[uuid.UUID],
        data: Annotated[dict[str, str], Form],
    ) -> Redirect:
        languages = "+".join(data.get("ocr_languages", "").replace("+", " ").split())
        try:
            options = msgspec.convert(
                {"force_ocr": data.get("force_ocr") == "on", "ocr_languages": languages or None},
                ProcessRequest,
            )
        except msgspec.ValidationError as e:
            raise InvalidInput(f"reprocess options: {e}") from e
        await ingest.process_answer(get_resources(state), principal.tenant(), document_id, options)
        return Redirect(f"/ui/documents/{document_id}", status_code=303)

    @post("/documents/{document_id:uuid}/delete", guards=[csrf_guard], status_code=303)
    async def delete(
        self, state: State, principal: NamedDependency[Principal], document_id: FromPath[uuid.UUID]
    ) -> Redirect:
        await documents.delete_document(get_resources(state), principal.tenant(), document_id)
        return Redirect("/ui/documents", status_code=303)

    @get("/jobs")
    async def jobs(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        status: Text = None,
        kind: Text = None,
        since: Text = None,
        cursor: Text = None,
    ) -> Template:
        r = get_resources(state)
        where = JobFilter(
            status=_enum(JobStatus, status),
            kind=kind or None,
            top_level=True,
            created_after=_day(since),
        )
        found = await jobs_services.list_jobs(
            r, principal.tenant(), where, cursor=cursor or None, limit=DEFAULT_LIMIT
        )
        figures = await stats.job_stats(r, principal.tenant(), kind=None, since=None)
        return page(
            request,
            "jobs",
            "Jobs",
            jobs=found,
            status=status or "",
            kind=kind or "",
            since=since or "",
            kinds=[k.type for k in figures.kinds],
            statuses=[s.value for s in JobStatus],
        )

    @get("/jobs/{job_id:uuid}")
    async def job(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        job_id: FromPath[uuid.UUID],
    ) -> Template:
        r = get_resources(state)
        assert r.jobs is not None
        assert r.sessions is not None
        row = await r.jobs.get(job_id, tenant_id=principal.tenant())
        detail = await dead.inspect_job(r.engine, row.id)
        async with r.sessions() as session:
            kids = await queries.children(session, principal.tenant(), row.id)
        return page(
            request,
            "job",
            f"Job {row.actor_name}",
            job=job_out(row),
            detail=detail,
            children=[job_out(k) for k in kids],
        )

    @post("/jobs/{job_id:uuid}/{action:str}", guards=[csrf_guard], status_code=303)
    async def job_action(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        job_id: FromPath[uuid.UUID],
        action: FromPath[str],
    ) -> Response[Any]:
        jobs = get_resources(state).jobs
        assert jobs is not None
        try:
            if action == "cancel":
                await jobs.cancel(job_id, tenant_id=principal.tenant())
            elif action == "retry":
                await jobs.retry(job_id, tenant_id=principal.tenant())
            else:
                return Response("unknown action", status_code=404, media_type="text/plain")
        except FolioError as e:
            if e.http_status != 409:
                raise
            return Redirect(f"/ui/jobs/{job_id}?notice={e.code}", status_code=303)
        return Redirect(f"/ui/jobs/{job_id}", status_code=303)

    @get("/search")
    async def search(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        q: Text = None,
        mode: Text = None,
    ) -> Template:
        chosen = _enum(SearchMode, mode) or SearchMode.HYBRID
        found = None
        error = None
        if q:
            try:
                found = await run_search(
                    get_resources(state),
                    principal.tenant(),
                    q,
                    k=20,
                    mode=chosen,
                    group=SearchGroup.CHUNK,
                    filters=SearchFilters(),
                )
            except FolioError as e:
                error = e.message
        return page(
            request,
            "search",
            "Search",
            q=q or "",
            mode=chosen.value,
            modes=[m.value for m in SearchMode],
            hits=found.hits if found else None,
            fallback=found.fallback if found else None,
            error=error,
        )
