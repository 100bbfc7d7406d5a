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
from folio_api.domain.uploads.job_inputs import create_job_input_upload
from folio_api.domain.uploads.schemas import JobInputGrantOut
from folio_api.domain.uploads.services import create_upload
from folio_api.errors import problem_responses
from folio_api.resources import get_resources
from folio_shared.errors import InvalidInput
from folio_shared.storage import PresignedUpload


class UploadsController(Controller):
    """Presigned uploads: a document's file goes to storage, then ``/process``
    checks it; a job's input (``purpose=job_input``) is named by its key in
    the job's payload."""

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
    ) -> UploadGrantOut | JobInputGrantOut:
        resources = get_resources(state)
        if data.purpose == "job_input":
            if data.metadata:
                raise InvalidInput(
                    "body field 'metadata': kept with documents only; "
                    "a job takes its metadata at POST /v1/jobs"
                )
            key, grant = await create_job_input_upload(
                resources,
                principal.tenant(),
                filename=data.filename,
                size_bytes=data.size_bytes,
                content_type=data.content_type,
            )
            return JobInputGrantOut(
                purpose="job_input",
                key=key,
                filename=key.rsplit("/", 1)[1],
                upload=presigned_out(grant),
            )
        if data.content_type is not None:
            raise InvalidInput(
                "body field 'content_type': a document's type comes from its file name; "
                "content_type is for purpose 'job_input'"
            )
        document, grant = await create_upload(
            resources,
            principal.tenant(),
            filename=data.filename,
            size_bytes=data.size_bytes,
            metadata=dict(data.metadata),
        )
        return UploadGrantOut(document=document_out(document), upload=presigned_out(grant))


def presigned_out(grant: PresignedUpload) -> PresignedUploadOut:
    """The wire form of a storage grant."""
    return PresignedUploadOut(
        url=grant.url,
        method=grant.method,
        fields=dict(grant.fields),
        headers=dict(grant.headers),
        expires_at=grant.expires_at,
        max_bytes=grant.max_bytes,
        content_type=grant.content_type,
    )
