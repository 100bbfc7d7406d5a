"""``POST /v1/uploads``: a presigned upload straight to storage."""

from __future__ import annotations

from litestar import Controller, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody

from folio_api.domain.auth.principal import Principal
from folio_api.domain.documents.schemas import (
    PresignedUploadOut,
    UploadGrantOut,
    UploadRequest,
    document_out,
)
from folio_api.domain.uploads.services import create_upload
from folio_api.errors import problem_responses
from folio_api.resources import get_resources


class UploadsController(Controller):
    """Presigned uploads: the file goes to storage, then ``/process`` checks it."""

    path = "/uploads"
    tags = ["uploads"]

    @post(
        "/",
        summary="Get a presigned upload (expiry at most 15 min, size and type bound)",
        status_code=201,
        responses=problem_responses(413, 415),
    )
    async def create(
        self, state: State, principal: NamedDependency[Principal], data: JSONBody[UploadRequest]
    ) -> UploadGrantOut:
        document, grant = await create_upload(
            get_resources(state),
            principal.tenant(),
            filename=data.filename,
            size_bytes=data.size_bytes,
            metadata=dict(data.metadata),
        )
        return UploadGrantOut(
            document=document_out(document),
            upload=PresignedUploadOut(
                url=grant.url,
                method=grant.method,
                fields=dict(grant.fields),
                headers=dict(grant.headers),
                expires_at=grant.expires_at,
                max_bytes=grant.max_bytes,
                content_type=grant.content_type,
            ),
        )
