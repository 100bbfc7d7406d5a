"""``/v1/batches``: many jobs under one status, with one completion job."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from folio_api.domain.auth.principal import Principal
from folio_api.domain.batches import services
from folio_api.domain.batches.schemas import BatchCreate, BatchOut
from folio_api.errors import problem_responses
from folio_api.resources import get_resources


class BatchesController(Controller):
    """Create a batch, follow it."""

    path = "/batches"
    tags = ["jobs"]

    @post(
        "/",
        summary="Run many jobs as one batch, with an optional completion job",
        description=(
            "Every member is checked as in `POST /v1/jobs` (errors name `jobs[i].…`); "
            "nothing is queued unless all are valid. `on_complete` runs exactly once, "
            "when every member is in a final state (succeeded, failed, dead or cancelled)."
        ),
        status_code=202,
        responses=problem_responses(403, 422),
    )
    async def create_batch(
        self, state: State, principal: NamedDependency[Principal], data: JSONBody[BatchCreate]
    ) -> BatchOut:
        return await services.create_batch(get_resources(state), principal.tenant_id, data)

    @get(
        "/{batch_id:uuid}",
        summary="A batch: state, counts, progress over all its jobs",
        responses=problem_responses(404),
    )
    async def get_batch(
        self, state: State, principal: NamedDependency[Principal], batch_id: FromPath[uuid.UUID]
    ) -> BatchOut:
        return await services.get_batch(get_resources(state), principal.tenant_id, batch_id)
