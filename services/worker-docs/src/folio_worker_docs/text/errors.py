"""Errors raised while extracting text from an untrusted document.

All are :class:`~folio_shared.errors.InvalidInput` (permanent, not retried):
the same bytes fail the same way every time, so a job failing with one of
them fails at once with a readable reason. ``details`` carries ``kind``
(the document type) and, where known, ``page_no``.
"""

from __future__ import annotations

from folio_shared.errors import InvalidInput


class ExtractionError(InvalidInput):
    """The document's text could not be extracted."""

    code = "extraction_failed"
    http_status = 422


class CorruptDocument(ExtractionError):
    """The bytes are not a valid document of their type (broken structure)."""

    code = "corrupt_document"


class EncryptedDocument(ExtractionError):
    """The document is password-protected or encrypted; Folio has no key."""

    code = "encrypted_document"


class TruncatedDocument(ExtractionError):
    """The document ends early (an upload or copy was cut short)."""

    code = "truncated_document"
