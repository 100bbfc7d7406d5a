"""Reading a ``multipart/form-data`` request body as a stream of parts.

Litestar's own form parsing reads the whole body first; an upload must
never be held in memory, so :class:`FormStream` feeds the raw ASGI body
chunks to ``multipart``'s sans-I/O :class:`~multipart.PushMultipartParser`
and hands out parser events one at a time: a part's headers
(:class:`~multipart.MultipartSegment`), then its body as ``bytes`` chunks,
then ``None`` at the part's end. At most one body chunk (as the server
received it, typically 64 KiB) is in memory at a time.

Errors: a body that is not valid multipart → 400 ``invalid_input``; a body
longer than ``max_body_bytes`` → 413 ``file_too_large``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

from multipart import (  # type: ignore[import-untyped]
    MultipartError,
    PushMultipartParser,
    parse_options_header,
)

from folio_shared.errors import FileTooLarge, InvalidInput, UnsupportedMediaType

#: Marks the end of the whole form.
END = object()

#: A parser event: a part's headers, a body chunk, ``None`` or :data:`END`.
Event: TypeAlias = Any


def boundary_of(content_type: str | None) -> str:
    """The boundary of a ``multipart/form-data`` ``Content-Type`` header."""
    kind, options = parse_options_header(content_type or "")
    if kind != "multipart/form-data":
        raise UnsupportedMediaType(
            f"the request body must be multipart/form-data, not {kind or '(none)'!r}"
        )
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise InvalidInput("the multipart/form-data Content-Type has no valid boundary")
    return str(boundary)


class FormStream:
    """Pull parser events from a request body (see the module notes).

    - ``body``: the raw body chunks (``request.stream()``).
    - ``boundary``: from :func:`boundary_of`.
    - ``max_body_bytes``: the largest body accepted, in bytes.
    """

    def __init__(self, body: AsyncIterator[bytes], boundary: str, *, max_body_bytes: int) -> None:
        self._body = body
        self._parser = PushMultipartParser(boundary, max_header_count=8, max_segment_count=64)
        self._pending: deque[Event] = deque()
        self._received_bytes = 0
        self._max_body_bytes = max_body_bytes
        self._done = False

    async def next(self) -> Event:
        """The next event: a part's headers, a body chunk, ``None`` (end of
        a part) or :data:`END` (end of the form)."""
        while not self._pending:
            if self._done:
                return END
            chunk = await anext(self._body, None)
            if chunk is None:
                chunk, self._done = b"", True  # end of input: the parser checks completeness
            elif not chunk:
                continue
            self._received_bytes += len(chunk)
            if self._received_bytes > self._max_body_bytes:
                raise FileTooLarge(
                    f"the request body is over {self._max_body_bytes} bytes",
                    max_bytes=self._max_body_bytes,
                )
            try:
                self._pending.extend(self._parser.parse(chunk))
            except MultipartError as e:
                raise InvalidInput(f"the multipart/form-data body is malformed: {e}") from e
            if self._parser.closed:
                self._done = True
        return self._pending.popleft()

    async def body_chunks(self) -> AsyncIterator[bytes]:
        """The current part's body, up to its end."""
        while True:
            event = await self.next()
            if isinstance(event, bytes):
                yield event
            elif event is None:
                return
            else:
                raise InvalidInput("the multipart/form-data body ended inside a part")

    async def read_part(self, limit_bytes: int, name: str) -> bytes:
        """The current part's whole body (small text fields only)."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.body_chunks():
            size += len(chunk)
            if size > limit_bytes:
                raise InvalidInput(f"form field {name!r}: longer than {limit_bytes} bytes")
            parts.append(chunk)
        return b"".join(parts)
