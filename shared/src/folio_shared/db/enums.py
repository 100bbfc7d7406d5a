"""The closed sets of values stored in Folio's tables.

Each enum is stored as text (``VARCHAR``) guarded by a ``CHECK`` constraint,
not as a PostgreSQL ``ENUM`` type: adding a value is then a one-line
migration that swaps the constraint, with no ``ALTER TYPE`` that cannot run
inside a transaction. Being ``StrEnum``s, members compare equal to their
text (``JobStatus.RUNNING == "running"``).
"""

from __future__ import annotations

from enum import StrEnum


class ApiKeyKind(StrEnum):
    """Who an API key belongs to: one tenant, or the operators (ops API)."""

    TENANT = "tenant"
    OPERATOR = "operator"


class DocumentKind(StrEnum):
    """A document's real type, decided from its bytes, never its name."""

    PDF = "pdf"
    PNG = "png"
    JPEG = "jpeg"
    TIFF = "tiff"
    WEBP = "webp"
    TEXT = "text"
    MARKDOWN = "markdown"
    HTML = "html"
    DOCX = "docx"


class DocumentStatus(StrEnum):
    """Where a document is in its life.

    ``awaiting_upload``: a presigned upload was handed out, no bytes yet.
    ``uploaded``: bytes stored and validated. ``queued`` / ``processing``:
    its processing job waits / runs. ``ready``: searchable. ``partial``:
    searchable, but some pages failed. ``failed``: nothing usable.
    ``deleted``: soft-deleted, files and chunks are being removed.
    """

    AWAITING_UPLOAD = "awaiting_upload"
    UPLOADED = "uploaded"
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    PARTIAL = "partial"
    DELETED = "deleted"


class JobStatus(StrEnum):
    """A job's state: ``pending`` (in the outbox, not yet on the broker) →
    ``queued`` → ``running`` → ``succeeded`` | ``failed`` (retries left: back
    to ``queued``) | ``dead`` (retries exhausted) | ``cancelled``."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """No further transition happens from this state (except a re-drive)."""
        return self in _FINAL_JOB_STATUSES


_FINAL_JOB_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DEAD, JobStatus.CANCELLED}
)


class FailureCause(StrEnum):
    """Why a job attempt ended badly.

    ``error``: the actor raised. ``timeout``: it ran past its time limit.
    ``crash``: its worker died (lease expired). ``cancelled``: a client asked.
    ``poison``: the message itself is unusable (undecodable, unknown version).
    """

    ERROR = "error"
    TIMEOUT = "timeout"
    CRASH = "crash"
    CANCELLED = "cancelled"
    POISON = "poison"


class PageMethod(StrEnum):
    """How a page's text was obtained: its own text layer, or OCR."""

    TEXT = "text"
    OCR = "ocr"
