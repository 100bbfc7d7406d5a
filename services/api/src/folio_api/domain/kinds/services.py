"""The job kinds a caller may submit, for ``GET /v1/job-types`` and the
dashboard's job-kind pages alike."""

from __future__ import annotations

import uuid

from folio_api.domain.kinds import repository
from folio_api.domain.kinds.schemas import JobTypeOut, job_type_out
from folio_api.resources import Resources


async def job_types(resources: Resources, tenant_id: uuid.UUID | None) -> list[JobTypeOut]:
    """Every declared kind with its live workers, by name; for a tenant
    limited to some kinds (``tenants.allowed_kinds``), those only."""
    sessions = resources.sessions
    assert sessions is not None
    allowed = (await resources.limits.of(sessions, tenant_id)).allowed_kinds
    async with sessions() as session:
        kinds = await repository.all_kinds(session)
        live = await repository.live_workers(session)
    return [
        job_type_out(k, live.get(k.name, 0)) for k in kinds if allowed is None or k.name in allowed
    ]
