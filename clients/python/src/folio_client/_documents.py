"""The plans of the document calls: uploads, processing, reads and search
(run by both clients; see :mod:`folio_client._steps`)."""

from __future__ import annotations

import os
from typing import IO, Any

from folio_client._core import (
    FileInput,
    When,
    checked,
    clean_params,
    document_params,
    file_part,
    hit_items,
    job_input_body,
    metadata_form,
    name_of,
    process_body,
    search_params,
    sized_body,
    upload_params,
)
from folio_client._steps import (
    Call,
    Download,
    Emit,
    FileBody,
    Pages,
    Plan,
    Send,
    open_sink,
    paged,
)
from folio_client.models import Document, SearchHit, Text, Upload
from folio_client.models_tenant import (
    Chunk,
    DocumentFields,
    JobInputGrant,
    PresignedUpload,
    UploadGrant,
)


def upload(
    file: FileInput,
    *,
    filename: str | None = None,
    process: bool = True,
    priority: str = "normal",
    metadata: dict[str, Any] | None = None,
) -> Plan[Upload]:
    """Upload a file (path, bytes or binary file object), streamed."""
    name, content = file_part(file, filename)
    try:
        data = yield Call(
            "POST",
            "/v1/documents",
            params=upload_params(process, priority),
            files={"file": (name, content, "application/octet-stream")},
            data=metadata_form(metadata),
        )
    finally:
        if hasattr(content, "close") and not isinstance(file, bytes) and content is not file:
            content.close()
    return Upload.from_json(data)


def upload_presigned(
    file: FileInput,
    *,
    filename: str | None = None,
    size_bytes: int | None = None,
    priority: str = "normal",
    metadata: dict[str, Any] | None = None,
) -> Plan[Upload]:
    """Upload through a presigned URL straight to storage, then queue it.
    ``file``: a path, bytes or a binary file object, streamed chunk by chunk
    (never read whole, so it may be larger than memory); ``size_bytes``: a
    non-seekable stream's length."""
    name = name_of(file, filename)
    stream, size, opened = sized_body(file, size_bytes)
    try:
        body = {"filename": name, "size_bytes": size, "metadata": metadata or {}}
        grant = UploadGrant.from_json((yield Call("POST", "/v1/uploads", json=body)))
        yield from send_file(grant.upload, stream, size, name)
    finally:
        if opened:
            stream.close()
    return (yield from process_document(grant.document.id, priority=priority))


def upload_job_input(
    file: FileInput,
    *,
    filename: str | None = None,
    content_type: str = "application/octet-stream",
    size_bytes: int | None = None,
) -> Plan[str]:
    """Upload a job's input through a presigned URL (``purpose=job_input``),
    streamed like :func:`upload_presigned`; returns its storage key, to name
    in the job's payload."""
    name = name_of(file, filename)
    stream, size, opened = sized_body(file, size_bytes)
    try:
        body = job_input_body(size, name, content_type)
        grant = JobInputGrant.from_json((yield Call("POST", "/v1/uploads", json=body)))
        yield from send_file(grant.upload, stream, size, name)
    finally:
        if opened:
            stream.close()
    return grant.key


def send_file(upload: PresignedUpload, stream: IO[bytes], size: int, filename: str) -> Plan[None]:
    """Send a stream as a presigned grant's ``upload`` says (PUT, or S3's
    POST form), once: a presigned URL takes one file."""
    if upload.method == "PUT":
        headers = {
            **upload.headers,
            "Content-Type": upload.content_type,
            "Content-Length": str(size),
        }
        body = FileBody(stream, size)
        call = Call("PUT", upload.url, content=body, headers=headers, auth=False)
    else:
        files = {"file": (filename, stream, upload.content_type)}
        call = Call("POST", upload.url, data=upload.fields, files=files, auth=False)
    checked((yield Send(call)))


def process_document(
    document_id: str,
    *,
    priority: str = "normal",
    force_ocr: bool = False,
    ocr_languages: str | None = None,
    expected: dict[str, str] | None = None,
) -> Plan[Upload]:
    """(Re)queue a document's processing: ``priority``, ``force_ocr``
    (OCR every page), ``ocr_languages`` (``eng+por``), ``expected``
    field values (each gets a verdict in the document's fields)."""
    body = process_body(
        priority=priority, force_ocr=force_ocr, ocr_languages=ocr_languages, expected=expected
    )
    return Upload.from_json((yield Call("POST", f"/v1/documents/{document_id}/process", json=body)))


def document(document_id: str) -> Plan[Document]:
    """One document (``GET /v1/documents/{id}``)."""
    return Document.from_json((yield Call("GET", f"/v1/documents/{document_id}")))


def documents(
    *,
    limit: int = 50,
    status: str | None = None,
    kind: str | None = None,
    created_after: When | None = None,
    created_before: When | None = None,
    document_type: list[str] | None = None,
) -> Pages:
    """Every document matching the filters, newest first, page by page."""
    filters = document_params(
        status=status,
        kind=kind,
        created_after=created_after,
        created_before=created_before,
        document_type=document_type,
    )
    return paged(
        lambda cursor: Call(
            "GET",
            "/v1/documents",
            params=clean_params({**filters, "limit": limit, "cursor": cursor}),
        ),
        Document.from_json,
    )


def text(
    document_id: str,
    *,
    page: int | None = None,
    offset: int | None = None,
    limit: int | None = None,
) -> Plan[Text]:
    """The document's text (or page ``page``'s): whole, read window by
    window, unless ``offset`` or ``limit`` asks for one window."""
    path = f"/v1/documents/{document_id}/text"
    params = clean_params({"page": page, "offset": offset, "limit": limit})
    found = Text.from_json((yield Call("GET", path, params=params)))
    while offset is None and limit is None and found.next_offset is not None:
        params = clean_params({"page": page, "offset": found.next_offset})
        found = found.then(Text.from_json((yield Call("GET", path, params=params))))
    return found


def delete(document_id: str) -> Plan[None]:
    """Delete a document, its file and everything read from it."""
    yield Call("DELETE", f"/v1/documents/{document_id}")


def fields(document_id: str) -> Plan[DocumentFields]:
    """The document's extracted fields and their verdicts
    (``GET /v1/documents/{id}/fields``)."""
    return DocumentFields.from_json((yield Call("GET", f"/v1/documents/{document_id}/fields")))


def chunks(document_id: str, *, limit: int = 100) -> Pages:
    """The document's searchable chunks in order, ``limit`` per request
    (``GET /v1/documents/{id}/chunks``)."""
    after = -1
    while True:
        params = {"after": after, "limit": limit}
        page = yield Call("GET", f"/v1/documents/{document_id}/chunks", params=params)
        for item in page["items"]:
            yield Emit(Chunk.from_json(item))
        if page.get("next_after") is None:
            return
        after = int(page["next_after"])


def download(document_id: str, out: str | os.PathLike[str] | IO[bytes]) -> Plan[int]:
    """Stream the document's file to a path or a binary file object
    (following the redirect to storage); how many bytes were written."""
    sink, opened = open_sink(out)
    try:
        written: int = yield Download(f"/v1/documents/{document_id}/file", sink)
    finally:
        if opened:
            sink.close()
    return written


def search(
    query: str,
    *,
    k: int = 10,
    mode: str | None = None,
    group: str | None = None,
    document_ids: list[str] | None = None,
    kind: list[str] | None = None,
    created_from: When | None = None,
    created_to: When | None = None,
    document_type: list[str] | None = None,
    metadata: dict[str, str] | None = None,
) -> Plan[list[SearchHit]]:
    """Search the tenant's documents (``GET /v1/search``): ``mode``
    (``hybrid``, ``semantic``, ``keyword``), ``group`` (``chunk`` or
    ``document``) and filters (``metadata``: the documents' labels)."""
    params = search_params(
        query,
        k=k,
        mode=mode,
        group=group,
        document_ids=document_ids,
        kind=kind,
        created_from=created_from,
        created_to=created_to,
        document_type=document_type,
        metadata=metadata,
    )
    data = yield Call("GET", "/v1/search", params=params)
    return [SearchHit.from_json(hit) for hit in hit_items(data)]
