"""The storage interface every backend implements (local directory, S3).

Callers hold a :class:`Storage`, never a backend class: code written against
it runs on both, and the contract test suite
(``tests/integration/storage/test_storage_contract.py``) runs the same
assertions against each backend.

Life cycle: build a backend (see :func:`folio_shared.storage.create_storage`),
``await storage.open()`` (or ``async with storage:``) before the first call,
``await storage.close()`` at shutdown. Nothing touches the network or the disk
at construction time.

Errors: every method raises :class:`~folio_shared.errors.InvalidStorageKey`
for a malformed key (see :mod:`folio_shared.storage.keys`),
:class:`~folio_shared.errors.ObjectNotFound` when a read names a missing key,
and :class:`~folio_shared.errors.StorageError` (retryable) when the store
itself fails; the backend's own exception is chained as ``__cause__``.
Exceptions raised by a caller's chunk iterator during :meth:`Storage.put_stream`
propagate unchanged (and nothing is stored).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Literal, Self

#: Default size of the chunks :meth:`Storage.get_stream` yields (1 MiB).
DEFAULT_CHUNK_BYTES = 1024 * 1024

#: Content type stored when an object has none recorded.
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What the store knows about one object.

    - ``key``: the object's key.
    - ``size_bytes``: its length.
    - ``content_type``: the type given when it was written; ``None`` in the
      results of :meth:`Storage.list` (S3's listing does not return it; call
      :meth:`Storage.stat` when it is needed).
    - ``etag``: opaque version tag, changes when the content changes (S3's
      ETag without quotes; the local backend's SHA-256 of the content).
    - ``last_modified``: when it was last written (timezone-aware, UTC).
    """

    key: str
    size_bytes: int
    content_type: str | None
    etag: str
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class PresignedUpload:
    """A time-limited grant to upload one object, bounded in size and type.

    The client sends ``method`` to ``url`` with ``headers``; for ``POST``
    (S3) the body is a ``multipart/form-data`` form holding every entry of
    ``fields`` followed by the file as the last field, named ``file``; for
    ``PUT`` (local backend) the body is the raw file.

    - ``url``, ``method`` (``"PUT"`` or ``"POST"``), ``fields``, ``headers``.
    - ``expires_at``: after this instant (UTC) the store refuses the upload.
    - ``max_bytes``: largest body the store accepts (bigger → refused).
    - ``content_type``: the only content type the store accepts.
    """

    url: str
    method: Literal["PUT", "POST"]
    expires_at: datetime
    max_bytes: int
    content_type: str
    fields: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


class Storage(abc.ABC):
    """An object store addressed by keys.

    Reads and writes stream: no method other than :meth:`put_bytes`,
    :meth:`get_bytes` and :meth:`get_range` holds a whole object in memory.
    Writes are atomic: a reader sees either the previous object or the
    complete new one, never a partial write.
    """

    #: Short backend name (``"local"``, ``"s3"``), for logs and health checks.
    backend_name: str = "abstract"

    # --- life cycle -------------------------------------------------------

    @abc.abstractmethod
    async def open(self) -> None:
        """Create clients and folders; must be awaited before any other call."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release clients; safe to call twice and without :meth:`open`."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abc.abstractmethod
    async def check(self) -> None:
        """Raise :class:`StorageError` unless the store is reachable and usable."""

    # --- writes -----------------------------------------------------------

    @abc.abstractmethod
    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], *, content_type: str
    ) -> StoredObject:
        """Store the concatenation of ``chunks`` under ``key`` (replacing any object).

        Memory use is bounded by one chunk plus the backend's part buffer
        (S3: :attr:`S3Storage.part_bytes`), whatever the object's size.
        """

    async def put_bytes(self, key: str, data: bytes, *, content_type: str) -> StoredObject:
        """Store ``data`` under ``key`` (replacing any object)."""

        async def one_chunk() -> AsyncIterator[bytes]:
            yield data

        return await self.put_stream(key, one_chunk(), content_type=content_type)

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""

    # --- reads ------------------------------------------------------------

    @abc.abstractmethod
    def get_stream(
        self, key: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> AsyncIterator[bytes]:
        """Yield the object's content in chunks of at most ``chunk_bytes``.

        An async generator: a missing key raises :class:`ObjectNotFound` on
        the first iteration. Close it (``aclose()``) if you stop early.
        """

    @abc.abstractmethod
    async def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start`` (inclusive) to ``end`` (exclusive), like ``data[start:end]``.

        ``0 <= start <= end`` is required (else :class:`ValueError`). A range
        past the end of the object is cut at the end, so the result may be
        shorter than ``end - start`` or empty.
        """

    async def get_bytes(self, key: str) -> bytes:
        """The whole object in memory; use :meth:`get_stream` for large ones."""
        parts = [chunk async for chunk in self.get_stream(key)]
        return b"".join(parts)

    @abc.abstractmethod
    async def stat(self, key: str) -> StoredObject | None:
        """The object's metadata, or ``None`` when there is no such object."""

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        return await self.stat(key) is not None

    @abc.abstractmethod
    def list(self, prefix: str = "") -> AsyncIterator[StoredObject]:
        """Yield the objects whose key starts with ``prefix``, in key order.

        A plain string prefix: ``"a/b"`` matches ``a/b``, ``a/b/c`` and
        ``a/bc``; use ``"a/b/"`` for one folder. ``content_type`` is ``None``
        in the results (see :class:`StoredObject`).
        """

    # --- signed URLs ------------------------------------------------------

    @abc.abstractmethod
    async def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_s: int
    ) -> PresignedUpload:
        """A grant to upload ``key`` directly to the store.

        The store itself refuses a body over ``max_bytes``, a different
        content type, or a use after ``expires_s`` seconds.
        """

    @abc.abstractmethod
    async def presign_download(
        self, key: str, *, expires_s: int, filename: str | None = None
    ) -> str:
        """A URL that serves the object for ``expires_s`` seconds.

        With ``filename`` the response carries
        ``Content-Disposition: attachment`` naming it.
        """


def check_range(start: int, end: int) -> None:
    """Validate a :meth:`Storage.get_range` range (shared by the backends)."""
    if start < 0 or end < start:
        raise ValueError(f"invalid byte range [{start}, {end}): need 0 <= start <= end")


def check_presign(max_bytes: int, expires_s: int) -> None:
    """Validate presign bounds (shared by the backends)."""
    if max_bytes < 1:
        raise ValueError("max_bytes must be at least 1")
    if not 1 <= expires_s <= 7 * 24 * 3600:
        raise ValueError("expires_s must be between 1 second and 7 days")


def attachment_disposition(filename: str) -> str:
    """A ``Content-Disposition: attachment`` value naming ``filename`` (RFC 6266).

    Carries an ASCII fallback (``filename=``) and the exact UTF-8 name
    (``filename*=``); quotes, backslashes and control characters never reach
    the header unescaped.
    """
    from urllib.parse import quote

    fallback = (
        "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in filename).strip()
        or "download"
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
