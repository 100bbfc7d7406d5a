"""``GET /v1/job-types``: the job kinds workers serve."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency

from folio_api.domain.auth.principal import Principal
from folio_api.domain.kinds import services
from folio_api.domain.kinds.schemas import JobTypeList
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
        found = await services.job_types(get_resources(state), principal.tenant_id)
        return JobTypeList(items=found)
