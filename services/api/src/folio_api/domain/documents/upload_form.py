"""A multipart upload's form, read as a stream, its file stored on the way.

The form is read with :class:`~.form_stream.FormStream`. The file part's
first :data:`~.filetypes.SNIFF_BYTES` decide its type
(:func:`~.filetypes.check_upload`) before anything is stored; then the
part is streamed to storage under a fresh key (:func:`storage_key_for`)
while it is hashed (SHA-256) and counted. Past ``settings.upload.max_bytes``
the stream stops with 413 and the storage keeps nothing. The ``metadata``
part is checked by :func:`~.metadata.parse_metadata`, the ``expected`` part
(field values the client expects, as in a process request) by
:func:`parse_expected`; any other part is a 400, and a file stored before
the error is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
from multipart import MultipartSegment  # type: ignore[import-untyped]

from folio_api.domain.documents.filetypes import (
    SNIFF_BYTES,
    FileType,
    check_upload,
    sanitize_filename,
)
from folio_api.domain.documents.form_stream import END, FormStream, boundary_of
from folio_api.domain.documents.metadata import MAX_METADATA_BYTES, parse_metadata
from folio_api.resources import Resources
from folio_shared.errors import FileTooLarge, InvalidInput, ObjectNotFound
from folio_shared.messages.documents import ExpectedValues
from folio_shared.storage.keys import tenant_prefix

#: Room for the multipart framing and text fields on top of the file limit.
FORM_OVERHEAD_BYTES = 256 * 1024
#: Largest ``expected`` form field, in bytes (32 names and values with room to spare).
MAX_EXPECTED_BYTES = 16 * 1024


def parse_expected(raw: bytes) -> dict[str, str]:
    """The ``expected`` form field: a JSON object of at most 32 ``snake_case``
    field names, each to a string of at most 256 characters."""
    try:
        return msgspec.json.decode(raw, type=ExpectedValues)
    except msgspec.ValidationError as e:
        raise InvalidInput(f"form field 'expected': {e}") from e
    except msgspec.DecodeError as e:
        raise InvalidInput("form field 'expected': not valid JSON") from e


def storage_key_for(tenant_id: uuid.UUID) -> str:
    """A fresh random storage key under the tenant's prefix."""
    return f"{tenant_prefix(tenant_id)}documents/{uuid.uuid4()}"


async def remove_file(resources: Resources, key: str) -> None:
    """Remove the stored object ``key`` (gone already: nothing to do)."""
    with contextlib.suppress(ObjectNotFound):
        await resources.storage.delete(key)


@dataclass(frozen=True, slots=True)
class UploadForm:
    """A form read: its file as stored (``key``, sanitised ``filename``,
    ``file_type`` from the bytes, ``size_bytes``, ``sha256``), its
    ``metadata`` (``{}`` without the part) and ``expected`` values (``None``
    without the part)."""

    key: str
    filename: str
    file_type: FileType
    size_bytes: int
    sha256: str
    metadata: dict[str, Any]
    expected: dict[str, str] | None = None


async def read_form(
    resources: Resources,
    tenant_id: uuid.UUID,
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
) -> UploadForm:
    """Read the form of ``body`` and store its file; see the module notes."""
    max_bytes = resources.settings.upload.max_bytes
    boundary = boundary_of(content_type)
    if content_length is not None and content_length > max_bytes + FORM_OVERHEAD_BYTES:
        raise FileTooLarge(
            f"the request body ({content_length} bytes) is over the upload limit of "
            f"{max_bytes} bytes",
            max_bytes=max_bytes,
        )
    form = FormStream(body, boundary, max_body_bytes=max_bytes + FORM_OVERHEAD_BYTES)
    metadata: dict[str, Any] = {}
    expected: dict[str, str] | None = None
    stored: tuple[str, str, FileType, int, str] | None = None  # key, name, type, size, sha
    try:
        while (event := await form.next()) is not END:
            if not isinstance(event, MultipartSegment):
                continue
            if event.filename is not None or event.name == "file":
                if event.name != "file":
                    raise InvalidInput(
                        f"form field {event.name!r}: files go in the field named 'file'"
                    )
                if stored is not None:
                    raise InvalidInput("form field 'file': only one file per upload")
                stored = await _store_file(resources, tenant_id, form, event, max_bytes)
            elif event.name == "metadata":
                metadata = parse_metadata(await form.read_part(MAX_METADATA_BYTES, "metadata"))
            elif event.name == "expected":
                expected = parse_expected(await form.read_part(MAX_EXPECTED_BYTES, "expected"))
            else:
                raise InvalidInput(
                    f"form field {event.name!r}: unknown "
                    "(expected 'file', 'metadata' and 'expected')"
                )
        if stored is None:
            raise InvalidInput("form field 'file': missing (send the file as the part 'file')")
    except BaseException:
        if stored is not None:
            await remove_file(resources, stored[0])
        raise
    return UploadForm(*stored, metadata=metadata, expected=expected)


class _Measured:
    """Counts and hashes the bytes it passes on; stops past ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size_bytes = 0
        self.digest = hashlib.sha256()

    async def stream(self, head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        if head:
            self._count(head)
            yield head
        async for chunk in rest:
            self._count(chunk)
            yield chunk

    def _count(self, chunk: bytes) -> None:
        self.size_bytes += len(chunk)
        if self.size_bytes > self.max_bytes:
            raise FileTooLarge(
                f"the file is over the upload limit of {self.max_bytes} bytes",
                max_bytes=self.max_bytes,
            )
        self.digest.update(chunk)


async def _store_file(
    resources: Resources,
    tenant_id: uuid.UUID,
    form: FormStream,
    part: MultipartSegment,
    max_bytes: int,
) -> tuple[str, str, FileType, int, str]:
    filename = sanitize_filename(part.filename)
    chunks = form.body_chunks()
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    if len(head) > max_bytes:
        raise FileTooLarge(
            f"the file is over the upload limit of {max_bytes} bytes", max_bytes=max_bytes
        )
    file_type = check_upload(
        head[:SNIFF_BYTES],
        filename,
        allowed=resources.settings.upload.allowed,
        declared_content_type=part.content_type,
    )
    key = storage_key_for(tenant_id)
    measured = _Measured(max_bytes)
    await resources.storage.put_stream(
        key, measured.stream(head, chunks), content_type=file_type.content_type
    )
    return key, filename, file_type, measured.size_bytes, measured.digest.hexdigest()
