"""Wire types of the documents and uploads routes (never ORM objects), and
the outcome (:class:`Ingested`) the ingest services hand their routes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

import msgspec

from folio_api.domain.jobs.schemas import JobFields, JobOut, JobRef, job_out, job_ref
from folio_shared.db.enums import DocumentKind, DocumentStatus
from folio_shared.messages import Priority
from folio_shared.messages.documents import ExpectedValues, OcrRotation


class DocumentFields(Protocol):
    """What the answers read of a document: a
    :class:`~folio_shared.db.models.Document`, or the same columns of a row
    read without the ORM (the queueing fast path)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def tenant_id(self) -> uuid.UUID: ...
    @property
    def filename(self) -> str: ...
    @property
    def kind(self) -> DocumentKind | None: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def size_bytes(self) -> int | None: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def status(self) -> DocumentStatus: ...
    @property
    def page_count(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def meta(self) -> dict[str, Any]: ...
    @property
    def low_confidence_pages(self) -> list[int]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Ingested:
    """Outcome of an upload or process request: the document, its job
    (``None`` when not queued), and whether the document already existed."""

    document: DocumentFields
    job: JobFields | None
    duplicate: bool = False


#: Tesseract languages, ``+``-separated (``eng+por``).
OcrLanguages = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z_]{3,16}(\+[a-z_]{3,16}){0,15}$", max_length=255)
]


class DocumentLinks(msgspec.Struct, frozen=True, kw_only=True):
    """Where to go next: the document, its text, chunks, file and the
    route that (re)queues its processing."""

    self: str
    text: str
    chunks: str
    file: str
    process: str


class DocumentOut(msgspec.Struct, frozen=True, kw_only=True):
    """A document.

    ``filename`` is the client's (sanitised) name, metadata only; ``kind``
    and ``content_type`` come from the bytes (``None`` while
    ``awaiting_upload``); ``page_count`` is known once extracted;
    ``latest_job`` is its most recent job, if any. In listings,
    ``document_type`` and ``fields`` (name → value) are what extraction
    found (``None`` before it ran; ``GET /v1/documents/{id}/fields`` has
    each field's confidence, place and check-digit verdict).
    """

    id: uuid.UUID
    filename: str
    kind: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    status: str
    page_count: int | None
    error: str | None
    metadata: dict[str, Any]
    low_confidence_pages: list[int]
    created_at: datetime
    updated_at: datetime
    latest_job: JobOut | None = None
    document_type: str | None = None
    fields: dict[str, str] | None = None
    links: DocumentLinks


class UploadOut(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an upload or a process request: the document and the
    job processing it (``None`` with ``?process=false``). ``duplicate``:
    the same bytes were already stored by this tenant, and this is that
    document (answered with 200 instead of 201)."""

    document: DocumentOut
    job: JobRef | None
    duplicate: bool = False


class DocumentPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of documents, newest first; pass ``next_cursor`` as
    ``cursor`` for the next (``None``: last page)."""

    items: list[DocumentOut]
    next_cursor: str | None


class PageText(msgspec.Struct, frozen=True, kw_only=True):
    """The text of one page and how it was obtained (``text`` layer or
    ``ocr``); ``ocr_confidence``: Tesseract's mean word confidence (0-100)
    for an OCRed page, else ``None``."""

    page_no: int
    text: str
    method: str
    low_confidence: bool
    ocr_confidence: float | None = None


class TextOut(msgspec.Struct, frozen=True, kw_only=True):
    """A window of a document's text: the requested page's, or the whole
    text's (all pages joined with a form feed, ``\\f``, between them), at
    most ``limit`` characters from ``offset``; ``total_chars`` is the length
    of that page or whole, ``next_offset`` where the next window starts
    (``None`` at the end). ``pages`` lists the pages the window overlaps,
    each with its part of the window."""

    document_id: uuid.UUID
    page_count: int
    page: int | None
    text: str
    pages: list[PageText]
    offset: int = 0
    total_chars: int = 0
    next_offset: int | None = None


class ChunkOut(msgspec.Struct, frozen=True, kw_only=True):
    """A searchable chunk: its position (``index``), pages and character
    offsets in the document's text, and its text."""

    id: uuid.UUID
    index: int
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    token_count: int
    text: str


class ChunkPage(msgspec.Struct, frozen=True, kw_only=True):
    """Chunks in order; pass ``next_after`` as ``after`` for the next page."""

    items: list[ChunkOut]
    next_after: int | None


class UploadRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Ask for a presigned upload.

    - ``filename``: the file's name (its extension decides the type the
      upload must have; the bytes are checked at ``/process``).
    - ``size_bytes``: the file's size if known; the upload is then bounded
      to it (default: the API's upload limit).
    - ``metadata``: free-form client metadata kept with the document.
    - ``purpose``: ``document`` (default) or ``job_input``: a file a job
      will read (any ``content_type``, default ``application/octet-stream``;
      no document is made, the answer names the storage ``key`` to put in
      the job's payload).
    """

    filename: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    size_bytes: Annotated[int, msgspec.Meta(ge=1)] | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    purpose: Literal["document", "job_input"] = "document"
    content_type: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None


class PresignedUploadOut(msgspec.Struct, frozen=True, kw_only=True):
    """How to send the file: ``method`` to ``url`` with ``headers`` (PUT:
    the raw file as the body; POST: a multipart form of ``fields`` then the
    file as the field ``file``), before ``expires_at``, at most
    ``max_bytes``, with exactly ``content_type``."""

    url: str
    method: str
    fields: dict[str, str]
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int
    content_type: str


class UploadGrantOut(msgspec.Struct, frozen=True, kw_only=True):
    """A presigned upload and the document (``awaiting_upload``) it fills;
    when the file is sent, call ``links.process`` of the document."""

    document: DocumentOut
    upload: PresignedUploadOut


class ProcessRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Options of a processing run: ``priority`` (``low``, ``normal``,
    ``high``, ``critical``; default ``normal``; above the tenant's maximum,
    ``high`` unless it was allowed more, it is refused with 403
    ``priority_not_allowed``), ``force_ocr`` (OCR every
    page; default false), ``ocr_languages`` (Tesseract's, e.g. ``eng+por``;
    default: the configured ones), ``expected`` (field values the client
    expects, e.g. ``{"amount": "150.00"}``; each gets a ``match`` /
    ``mismatch`` / ``missing`` verdict in ``GET /v1/documents/{id}/fields``;
    default none), ``rotate`` (how OCR turns the pages: ``"auto"``, the
    default, detects the orientation of a page read with low confidence
    and reads it again upright; ``0`` never turns; ``90``, ``180``,
    ``270`` turn every page that many degrees counter-clockwise)."""

    priority: Priority = Priority.NORMAL
    force_ocr: bool = False
    ocr_languages: OcrLanguages | None = None
    expected: ExpectedValues | None = None
    rotate: OcrRotation = "auto"


def document_links(document_id: uuid.UUID) -> DocumentLinks:
    base = f"/v1/documents/{document_id}"
    return DocumentLinks(
        self=base,
        text=f"{base}/text",
        chunks=f"{base}/chunks",
        file=f"{base}/file",
        process=f"{base}/process",
    )


def document_out(
    document: DocumentFields,
    latest_job: JobOut | None = None,
    extracted: tuple[str | None, dict[str, str] | None] = (None, None),
) -> DocumentOut:
    """The document as the API shows it; ``extracted``: its document type and
    field values (listings)."""
    return DocumentOut(
        id=document.id,
        filename=document.filename,
        kind=str(document.kind) if document.kind else None,
        content_type=document.content_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        status=str(document.status),
        page_count=document.page_count,
        error=document.error,
        metadata=dict(document.meta or {}),
        low_confidence_pages=list(document.low_confidence_pages or []),
        created_at=document.created_at,
        updated_at=document.updated_at,
        latest_job=latest_job,
        document_type=extracted[0],
        fields=extracted[1],
        links=document_links(document.id),
    )


def upload_out(result: Ingested) -> UploadOut:
    """The answer of an upload or a ``process`` request."""
    job = result.job
    return UploadOut(
        document=document_out(result.document, job_out(job) if job else None),
        job=job_ref(job) if job else None,
        duplicate=result.duplicate,
    )
