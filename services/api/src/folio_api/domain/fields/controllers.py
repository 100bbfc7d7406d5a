"""``GET /v1/documents/{id}/fields``: the structured fields of a payment document."""

from __future__ import annotations

import uuid

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath

from folio_api.domain.auth.principal import Principal
from folio_api.domain.fields import services
from folio_api.domain.fields.schemas import DocumentFieldsOut
from folio_api.errors import problem_responses
from folio_api.resources import get_resources


class FieldsController(Controller):
    """A document's type and typed fields (amounts, dates, ids, names, tax ids)."""

    path = "/documents"
    tags = ["documents"]

    @get(
        "/{document_id:uuid}/fields",
        summary="A payment document's structured fields and expected-value verdicts",
        responses=problem_responses(404),
    )
    async def get_fields(
        self, state: State, principal: NamedDependency[Principal], document_id: FromPath[uuid.UUID]
    ) -> DocumentFieldsOut:
        return await services.get_fields(get_resources(state), principal.tenant(), document_id)
