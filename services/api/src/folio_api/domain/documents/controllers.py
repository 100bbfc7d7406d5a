"""``/v1/documents`` routes: thin; the work is in :mod:`.ingest` and :mod:`.services`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from folio_api.domain.auth.principal import Principal
from folio_api.domain.documents import ingest, services
from folio_api.domain.documents.download import file_response
from folio_api.domain.documents.schemas import (
    ChunkPage,
    DocumentOut,
    DocumentPage,
    ProcessRequest,
    TextOut,
    UploadOut,
    upload_out,
)
from folio_api.domain.documents.shortcut import ProcessShortcut
from folio_api.domain.documents.text import MAX_TEXT_CHARS
from folio_api.domain.fields.filters import field_filters
from folio_api.errors import problem_responses
from folio_api.pagination import DEFAULT_LIMIT, Cursor, Limit
from folio_api.resources import get_resources
from folio_shared.db.enums import DocumentKind, DocumentStatus
from folio_shared.messages import Priority


@dataclass
class MultipartUploadOperation(Operation):
    """Documents the streamed multipart body the upload handler reads itself."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description=(
                "multipart/form-data: `file` (the document; its name's extension must "
                "agree with its bytes), optionally `metadata` (a JSON object) and "
                "`expected` (a JSON object of field values the client expects, e.g. "
                '`{"amount": "150.00"}`; each gets a verdict in `/fields`)'
            ),
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["file"],
                        properties={
                            "file": Schema(type=OpenAPIType.STRING, format="binary"),  # type: ignore[arg-type]
                            "metadata": Schema(type=OpenAPIType.STRING),
                            "expected": Schema(type=OpenAPIType.STRING),
                        },
                    )
                )
            },
        )


class DocumentsController(Controller):
    """Upload, list, read, download, delete and (re)process documents."""

    path = "/documents"
    tags = ["documents"]

    @post(
        "/",
        summary="Upload a document (multipart, streamed) and queue its processing",
        description=(
            "201 with the new document and its job; 200 with the existing document when "
            "this tenant already stored the same bytes. `?process=false` stores without "
            "processing."
        ),
        request_max_body_size=None,  # the upload limit is enforced while streaming
        operation_class=MultipartUploadOperation,
        status_code=201,
        responses={
            200: ResponseSpec(UploadOut, description="The same bytes were already uploaded"),
            **problem_responses(403, 413, 415),
        },
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        process: Annotated[bool, Parameter(description="queue processing at once")] = True,
        priority: Annotated[
            Priority,
            Parameter(
                description=(
                    "job priority, at most the tenant's maximum (default high; "
                    "a higher one is refused with 403)"
                )
            ),
        ] = Priority.NORMAL,
    ) -> Response[UploadOut]:
        result = await ingest.upload_request(
            get_resources(state), principal.tenant(), request, process=process, priority=priority
        )
        return Response(upload_out(result), status_code=200 if result.duplicate else 201)

    @get(
        "/",
        summary="List documents, newest first",
        responses=problem_responses(),
    )
    async def list_documents(
        self,
        request: Request[Any, Any, Any],
        state: State,
        principal: NamedDependency[Principal],
        status: FromQuery[DocumentStatus | None] = None,
        kind: Annotated[DocumentKind | None, Parameter(description="type, from the bytes")] = None,
        created_after: FromQuery[datetime | None] = None,
        created_before: FromQuery[datetime | None] = None,
        document_type: Annotated[
            list[str] | None,
            Parameter(description="only documents extraction gave one of these types"),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> DocumentPage:
        """``field.<name>=<value>``, ``field.<name>.min=``, ``field.<name>.max=``
        (any number) filter on extracted fields (:mod:`folio_api.domain.fields.filters`)."""
        return await services.list_documents(
            get_resources(state),
            principal.tenant(),
            status=status,
            kind=kind,
            created_after=created_after,
            created_before=created_before,
            cursor=cursor,
            limit=limit,
            fields=field_filters(request.query_params.items(), document_type),
        )

    @get(
        "/{document_id:uuid}",
        summary="A document: metadata, status, page count, latest job",
        responses=problem_responses(404),
    )
    async def get_document(
        self, state: State, principal: NamedDependency[Principal], document_id: FromPath[uuid.UUID]
    ) -> DocumentOut:
        return await services.get_document(get_resources(state), principal.tenant(), document_id)

    @get(
        "/{document_id:uuid}/text",
        summary="A document's text, whole or one page, a bounded window at a time",
        description=(
            "At most `limit` characters (at most 1,000,000) from `offset`, of the whole "
            "text (pages joined by form feeds) or of `page`; `next_offset` says where the "
            "next window starts (`null` at the end)."
        ),
        responses=problem_responses(404, 409),
    )
    async def get_text(
        self,
        state: State,
        principal: NamedDependency[Principal],
        document_id: FromPath[uuid.UUID],
        page: Annotated[int | None, Parameter(ge=1, le=1_000_000)] = None,
        offset: Annotated[int, Parameter(ge=0, le=2_000_000_000)] = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_TEXT_CHARS)] = MAX_TEXT_CHARS,
    ) -> TextOut:
        return await services.get_text(
            get_resources(state), principal.tenant(), document_id, page, offset=offset, limit=limit
        )

    @get(
        "/{document_id:uuid}/chunks",
        summary="A document's searchable chunks, in order",
        responses=problem_responses(404),
    )
    async def get_chunks(
        self,
        state: State,
        principal: NamedDependency[Principal],
        document_id: FromPath[uuid.UUID],
        after: Annotated[int, Parameter(ge=-1, le=10_000_000)] = -1,
        limit: Limit = DEFAULT_LIMIT,
    ) -> ChunkPage:
        return await services.list_chunks(
            get_resources(state), principal.tenant(), document_id, after=after, limit=limit
        )

    @get(
        "/{document_id:uuid}/file",
        summary="Download the file (streamed; a 307 redirect to a presigned URL on S3)",
        responses={
            200: ResponseSpec(
                bytes,
                description="The file, with the content type detected at upload",
                media_type="*/*",
            ),
            307: ResponseSpec(None, description="Redirect to a short-lived download URL (S3)"),
            **problem_responses(404, 409),
        },
    )
    async def get_file(
        self, state: State, principal: NamedDependency[Principal], document_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        return await file_response(get_resources(state), principal.tenant(), document_id)

    @delete(
        "/{document_id:uuid}",
        summary="Delete a document: rows, chunks, stored file; running jobs are cancelled",
        responses=problem_responses(404),
    )
    async def delete_document(
        self, state: State, principal: NamedDependency[Principal], document_id: FromPath[uuid.UUID]
    ) -> None:
        await services.delete_document(get_resources(state), principal.tenant(), document_id)

    @post(
        "/{document_id:uuid}/process",
        summary="Queue (or re-queue) a document's processing",
        description=(
            "For a presigned upload, checks the stored file (size, type from its bytes) "
            "first. A document already being processed answers its current job."
        ),
        status_code=202,
        middleware=[ProcessShortcut()],
        responses={
            200: ResponseSpec(UploadOut, description="Same bytes already stored: that document"),
            **problem_responses(403, 404, 409, 413, 415),
        },
    )
    async def process(
        self,
        state: State,
        principal: NamedDependency[Principal],
        document_id: FromPath[uuid.UUID],
        data: JSONBody[ProcessRequest | None] = None,
    ) -> Response[UploadOut]:
        answer, status = await ingest.process_answer(
            get_resources(state), principal.tenant(), document_id, data or ProcessRequest()
        )
        return Response(answer, status_code=status)
