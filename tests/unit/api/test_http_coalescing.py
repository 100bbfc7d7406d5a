"""folio_api.http: what one event-loop turn writes leaves in one write."""

from __future__ import annotations

import asyncio
from typing import Any

from folio_api.http import CoalescingTransport


class Recorder:
    """A transport that records its writes."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


async def test_writes_of_one_turn_go_out_as_one_write_at_its_end() -> None:
    real = Recorder()
    transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert real.writes == []  # not during the turn
    assert transport.get_write_buffer_size() == 46
    await asyncio.sleep(0)
    assert real.writes == [b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}"]
    # a later turn's writes are a write of their own (a streamed body)
    transport.writelines([b"data: 1\n\n", b""])
    await asyncio.sleep(0)
    assert real.writes[1:] == [b"data: 1\n\n"]


async def test_close_sends_what_is_pending_first_and_the_rest_is_delegated() -> None:
    real = Recorder()
    transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"last words")
    transport.close()
    assert real.writes == [b"last words"]
    assert real.closed
    transport.write(b"too late")
    await asyncio.sleep(0)
    assert real.writes == [b"last words"]  # a closed transport gets nothing more
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
