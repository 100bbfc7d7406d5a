"""uvicorn's httptools protocol, answering each response in one write.

uvicorn writes a response's status line and headers, then its body, as two
``transport.write`` calls: two system calls, two TCP segments, and a client
woken twice for every answer. On the API's busiest routes that was ~30 µs of
CPU per request (on loopback, a write also runs the receiver's side of TCP).
:class:`HttpToolsProtocol` gives uvicorn a transport that gathers what one
event-loop turn writes and sends it at the end of that turn, so head and
body of an answer leave together; streamed bodies (downloads, Server-Sent
Events) still leave as they are written, one turn at a time.

Used by :mod:`folio_api.main` (``http=HttpToolsProtocol``) and by any
``uvicorn --http folio_api.http:HttpToolsProtocol``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http import httptools_impl


class CoalescingTransport:
    """Wraps ``transport``: writes of one loop turn go out as one write.

    Everything but writing and closing is the wrapped transport's own.
    """

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpToolsProtocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's protocol on a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
