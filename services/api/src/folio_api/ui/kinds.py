"""A tenant's pages for job kinds.

- ``GET /ui/job-types``: every kind the tenant may submit, as
  ``GET /v1/job-types`` lists it (queue, payload and result JSON schemas,
  options, live workers) beside its figures from ``GET /v1/jobs/stats``
  over the last 24 hours (counts by state, throughput, queue wait and run
  time p50/p95, failure rate).
- ``GET /ui/job-types/{kind}/submit``: a form for one job of that kind
  (payload as JSON, priority, delay); ``POST`` submits it through the same
  function as ``POST /v1/jobs`` (kind allowed, priority within the
  tenant's maximum, payload checked against the kind's schema) and opens
  the new job's page. A refused job comes back as the form (status 422 or
  403) with each error next to its field.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from folio_api.domain.auth.principal import Principal
from folio_api.domain.jobs import stats
from folio_api.domain.jobs.schemas import JobCreate
from folio_api.domain.jobs.submit import submit
from folio_api.domain.kinds import services
from folio_api.domain.kinds.schemas import JobTypeOut
from folio_api.resources import Resources, get_resources
from folio_api.ui.auth import csrf_guard, tenant_page
from folio_api.ui.context import page
from folio_shared.db.enums import JobStatus
from folio_shared.errors import FolioError, InvalidPayload, PriorityNotAllowed
from folio_shared.messages import Priority

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
#: The longest payload the form takes, in characters.
MAX_PAYLOAD_CHARS = 64_000


async def _kind(resources: Resources, principal: Principal, name: str) -> JobTypeOut:
    for kind in await services.job_types(resources, principal.tenant()):
        if kind.name == name:
            return kind
    raise NotFoundException(f"no job kind {name!r} this tenant may submit")


def _example(kind: JobTypeOut) -> str:
    """A starting payload: each required property with an empty value of its
    type (the schema's top-level ``$ref`` into ``$defs`` followed, as
    msgspec writes a Struct's schema)."""
    blanks = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}
    schema = kind.payload_schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
    properties = schema.get("properties", {})
    sample = {
        name: blanks.get(str(properties.get(name, {}).get("type")))
        for name in schema.get("required", [])
        if name != "type"
    }
    return json.dumps(sample, indent=2)


class KindPages(Controller):
    """Job kinds, and submitting a job of one."""

    path = "/job-types"
    guards = [tenant_page]
    include_in_schema = False

    @get("/")
    async def job_types(
        self, request: Request[Any, Any, Any], state: State, principal: NamedDependency[Principal]
    ) -> Template:
        r = get_resources(state)
        kinds = await services.job_types(r, principal.tenant())
        figures = await stats.job_stats(r, principal.tenant(), kind=None, since=None)
        return page(
            request,
            "job_types",
            "Job kinds",
            kinds=kinds,
            figures={k.type: k for k in figures.kinds},
            states=[s.value for s in JobStatus],
        )

    @get("/{kind:str}/submit")
    async def submit_form(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        kind: FromPath[str],
    ) -> Template:
        found = await _kind(get_resources(state), principal, kind)
        return _form(request, found, {"payload": _example(found)}, {})

    @post("/{kind:str}/submit", guards=[csrf_guard], status_code=303)
    async def submit_job(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        kind: FromPath[str],
        data: Annotated[dict[str, str], Form],
    ) -> Response[Any]:
        r = get_resources(state)
        found = await _kind(r, principal, kind)
        errors = {}
        ask = None
        try:
            ask = _ask(found.name, data)
        except _FieldError as e:
            errors[e.field] = [e.message]
        if ask is not None:
            try:
                job = await submit(r, principal.tenant(), ask)
            except InvalidPayload as e:
                errors["payload"] = [f"{x['key']}: {x['message']}" for x in e.details["errors"]]
            except PriorityNotAllowed as e:
                errors["priority"] = [e.message]
            except FolioError as e:
                if e.http_status >= 500:
                    raise
                errors["form"] = [e.message]
            else:
                return Redirect(f"/ui/jobs/{job.id}", status_code=303)
        status = 403 if "priority" in errors else 422
        return _form(request, found, data, errors, status_code=status)


class _FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _ask(kind: str, data: dict[str, str]) -> JobCreate:
    """The form's fields as a ``POST /v1/jobs`` body, or the first bad field."""
    raw = data.get("payload", "").strip() or "{}"
    if len(raw) > MAX_PAYLOAD_CHARS:
        raise _FieldError("payload", f"at most {MAX_PAYLOAD_CHARS} characters")
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError as e:
        raise _FieldError(
            "payload", f"not JSON: {e.msg} (line {e.lineno}, column {e.colno})"
        ) from e
    if not isinstance(payload, dict):
        raise _FieldError("payload", "a JSON object ({...}) is needed")
    body: dict[str, Any] = {"type": kind, "payload": payload}
    if data.get("priority"):
        body["priority"] = data["priority"]
    delay = data.get("delay_s", "").strip()
    if delay:
        try:
            body["delay_ms"] = int(float(delay) * 1000)
        except ValueError as e:
            raise _FieldError("delay_s", "a number of seconds") from e
    try:
        return msgspec.convert(body, JobCreate)
    except msgspec.ValidationError as e:
        field = (
            "delay_s" if "delay_ms" in str(e) else "priority" if "priority" in str(e) else "form"
        )
        raise _FieldError(field, str(e)) from e


def _form(
    request: Request[Any, Any, Any],
    kind: JobTypeOut,
    values: dict[str, str],
    errors: dict[str, list[str]],
    status_code: int = 200,
) -> Template:
    return page(
        request,
        "job_submit",
        f"Submit a job: {kind.name}",
        status_code=status_code,
        kind=kind,
        values=values,
        errors=errors,
        priorities=[p.value for p in Priority],
    )
