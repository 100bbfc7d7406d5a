"""Folio's error tree: every error Folio raises on purpose is a :class:`FolioError`.

Errors are named after the condition and carry the ids they concern. The API
maps them to HTTP problem details at its edge only (``code`` is the stable,
machine-readable name; ``http_status`` the default status). Actors use
``retryable`` to decide between a retry with backoff and an immediate,
readable failure.
"""

from __future__ import annotations

from typing import Any, ClassVar


class FolioError(Exception):
    """Root of Folio's errors.

    ``code`` (class attribute): stable snake_case name shown to clients.
    ``http_status`` (class attribute): status the API answers with.
    ``retryable`` (class attribute): a job failing with it is retried.
    ``public_details`` (class attribute): the keys of ``details`` the API
    adds to its problem body (default none: details may hold internals).
    ``details``: the ids and values the error concerns.
    """

    code: ClassVar[str] = "folio_error"
    http_status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False
    public_details: ClassVar[tuple[str, ...]] = ()

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


# --- configuration -----------------------------------------------------------


class ConfigurationError(FolioError):
    """A setting is missing or invalid."""

    code = "configuration_error"


# --- messages ------------------------------------------------------------------


class MessageError(FolioError):
    """A message could not be decoded or encoded."""

    code = "message_error"
    http_status = 400


class UnknownMessageType(MessageError):
    """A message's type tag names no known message (never seen name)."""

    code = "unknown_message_type"


class UnsupportedMessageVersion(MessageError):
    """A message's major version is not one this code understands."""

    code = "unsupported_message_version"


class InvalidMessage(MessageError):
    """A message's payload does not match its schema."""

    code = "invalid_message"


# --- storage -------------------------------------------------------------------


class StorageError(FolioError):
    """The object store failed; usually transient."""

    code = "storage_error"
    http_status = 503
    retryable = True


class ObjectNotFound(StorageError):
    """No object under this key."""

    code = "object_not_found"
    http_status = 404
    retryable = False


class InvalidStorageKey(StorageError):
    """A storage key is malformed (absolute, ``..``, empty, ...)."""

    code = "invalid_storage_key"
    http_status = 400
    retryable = False


class InvalidSignature(StorageError):
    """A signed URL is forged, altered or expired."""

    code = "invalid_signature"
    http_status = 403
    retryable = False


class UploadRejected(StorageError):
    """An upload broke the bounds it was signed with (size, type)."""

    code = "upload_rejected"
    http_status = 400
    retryable = False


class UploadClosed(StorageError):
    """A presigned upload URL was used after its document's upload was
    checked (``process``), or after the document was deleted: upload URLs
    write until then only."""

    code = "upload_closed"
    http_status = 409
    retryable = False


class StoredFileChanged(StorageError):
    """The stored object no longer matches the size or SHA-256 its document
    row recorded when the upload was checked; a worker will not read it."""

    code = "stored_file_changed"
    http_status = 409
    retryable = False


# --- domain --------------------------------------------------------------------


class NotFound(FolioError):
    """A resource does not exist (or belongs to another tenant)."""

    code = "not_found"
    http_status = 404


class DocumentNotFound(NotFound):
    code = "document_not_found"


class JobNotFound(NotFound):
    code = "job_not_found"


class JobError(FolioError):
    """A job-engine condition."""

    code = "job_error"


class JobCancelled(JobError):
    """Raised inside an actor by ``progress()`` when its job was cancelled;
    the job engine records the job as ``cancelled`` (never retried)."""

    code = "job_cancelled"
    http_status = 409


class JobStateConflict(JobError):
    """The job is not in a state that allows the operation (e.g. retrying a
    running job); ``details["status"]`` says which state it is in."""

    code = "job_state_conflict"
    http_status = 409


class TenantNotFound(NotFound):
    code = "tenant_not_found"


class TenantExists(FolioError):
    """A tenant with this name already exists (``details["name"]``)."""

    code = "tenant_exists"
    http_status = 409


class Unauthorized(FolioError):
    """No valid API key."""

    code = "unauthorized"
    http_status = 401


class InvalidInput(FolioError):
    """The client sent something Folio cannot accept."""

    code = "invalid_input"
    http_status = 400


class UnsupportedFileType(InvalidInput):
    code = "unsupported_file_type"
    http_status = 415


class RedriveOptionRefused(InvalidInput):
    """A re-drive named an option its message type does not allow (ids,
    tenant, storage key are never allowed) or a value of the wrong type;
    ``details["allowed"]`` lists what may be overridden."""

    code = "redrive_option_refused"


class FileTooLarge(InvalidInput):
    code = "file_too_large"
    http_status = 413


class DependencyUnavailable(FolioError):
    """Redis, PostgreSQL or storage cannot be reached."""

    code = "dependency_unavailable"
    http_status = 503
    retryable = True


# --- isolation (untrusted work in child processes) ---------------------------


class IsolationError(FolioError):
    """Untrusted work in a child process did not complete."""

    code = "isolation_error"


class ChildCrashed(IsolationError):
    """The child died: killed by a signal, out of memory, or it exited.

    ``details``: ``pid``, ``exitcode`` (negative: the signal number),
    ``reason`` (``"out_of_memory"``, ``"signal"`` or ``"exit"``).
    """

    code = "child_crashed"


class ChildTimedOut(IsolationError):
    """The child ran past its wall-time or CPU-time limit and was killed.

    ``details``: ``pid``, ``limit_s``, ``kind`` (``"wall"`` or ``"cpu"``).
    """

    code = "child_timed_out"


class ChildRaised(IsolationError):
    """The function raised an exception that could not be sent back as is.

    ``details``: ``type`` (the exception's class name), ``traceback``.
    """

    code = "child_raised"


class ChildReplyUnreadable(ChildRaised):
    """The child's reply is not a reply Folio's children send (undecodable,
    or not of the function's return type): the child is killed."""

    code = "child_reply_unreadable"


class PoolClosed(IsolationError):
    """The pool was closed; no more work is accepted."""

    code = "pool_closed"


# --- ingestion API (uploads, auth, rate limits) --------------------------------


class FileTypeMismatch(UnsupportedFileType):
    """The file's extension or declared type disagrees with its bytes
    (``details``: ``sniffed``, ``extension`` or ``declared``)."""

    code = "file_type_mismatch"


class EmptyFile(InvalidInput):
    """The uploaded file has no bytes."""

    code = "empty_file"


class InvalidFilename(InvalidInput):
    """The client's file name is empty, too long, or names a path."""

    code = "invalid_filename"


class Forbidden(FolioError):
    """The key is valid but of the wrong kind for this route (tenant key on
    an operator route, operator key on a tenant route)."""

    code = "forbidden"
    http_status = 403


class RateLimited(FolioError):
    """Too many requests for this key; ``details["retry_after_s"]`` says
    when to try again."""

    code = "rate_limited"
    http_status = 429


class DocumentStateConflict(FolioError):
    """The document is not in a state that allows the operation (e.g. its
    presigned upload never arrived); ``details["status"]`` names its state."""

    code = "document_state_conflict"
    http_status = 409


class PageNotFound(NotFound):
    code = "page_not_found"


class UnsupportedMediaType(InvalidInput):
    """The request body's ``Content-Type`` is not one this route reads
    (e.g. an upload that is not ``multipart/form-data``)."""

    code = "unsupported_media_type"
    http_status = 415


# --- job kinds (POST /v1/jobs) -------------------------------------------------


class UnknownJobKind(InvalidInput):
    """No worker has declared this job kind; ``details["known_kinds"]``
    lists those that exist."""

    code = "unknown_job_kind"
    http_status = 422
    public_details = ("known_kinds",)


class InvalidPayload(InvalidInput):
    """A job's payload does not match its kind's JSON schema;
    ``details["errors"]``: one entry per bad field (``key``, ``message``)."""

    code = "invalid_payload"
    http_status = 422
    public_details = ("errors",)


class KindNotAllowed(Forbidden):
    """The tenant may not submit this job kind (``tenants.allowed_kinds``)."""

    code = "kind_not_allowed"


class PriorityNotAllowed(Forbidden):
    """The priority asked for is above the tenant's maximum
    (``details["max_priority"]``)."""

    code = "priority_not_allowed"
    public_details = ("max_priority",)


class BatchNotFound(NotFound):
    code = "batch_not_found"
