"""``GET /v1/job-types``: the job kinds workers serve."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency

from folio_api.domain.auth.principal import Principal
from folio_api.domain.kinds import repository
from folio_api.domain.kinds.schemas import JobTypeList, job_type_out
from folio_api.errors import problem_responses
from folio_api.resources import get_resources


class JobTypesController(Controller):
    """What ``POST /v1/jobs`` accepts (for a tenant limited to some kinds: those)."""

    path = "/job-types"
    tags = ["jobs"]

    @get(
        "/",
        summary="Job kinds: payload schemas, queues and live workers",
        responses=problem_responses(),
    )
    async def list_job_types(
        self, state: State, principal: NamedDependency[Principal]
    ) -> JobTypeList:
        resources = get_resources(state)
        sessions = resources.sessions
        assert sessions is not None
        allowed = (await resources.limits.of(sessions, principal.tenant_id)).allowed_kinds
        async with sessions() as session:
            kinds = await repository.all_kinds(session)
            live = await repository.live_workers(session)
        return JobTypeList(
            items=[
                job_type_out(k, live.get(k.name, 0))
                for k in kinds
                if allowed is None or k.name in allowed
            ]
        )
