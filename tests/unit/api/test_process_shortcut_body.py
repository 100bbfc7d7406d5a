"""Which ``process`` requests the shortcut answers itself, from their
headers and body (no I/O: the ASGI messages are given as a list)."""

from __future__ import annotations

from typing import Any

import pytest

from folio_api.domain.documents.schemas import ProcessRequest
from folio_api.domain.documents.shortcut import MAX_BODY_BYTES, read_options
from folio_shared.messages import Priority


def _scope(*headers: tuple[bytes, bytes]) -> Any:
    return {"type": "http", "headers": list(headers)}


async def _read(scope: Any, *messages: dict[str, Any]) -> tuple[Any, list[Any], int]:
    """(options, the messages read, the messages left unread)."""
    left = list(messages)

    async def receive() -> Any:
        return left.pop(0)

    read: list[Any] = []
    options = await read_options(scope, receive, read)
    return options, read, len(left)


def _body(data: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.request", "body": data, "more_body": more}


JSON = (b"content-type", b"application/json; charset=utf-8")


@pytest.mark.parametrize(
    ("scope", "messages", "expected"),
    [
        (_scope(), [_body(b"")], ProcessRequest()),
        (_scope(JSON), [_body(b"null")], ProcessRequest()),
        (_scope(JSON), [_body(b"{}")], ProcessRequest()),
        (
            _scope(JSON, (b"content-length", b"39")),
            [_body(b'{"priority": "high", ', True), _body(b'"force_ocr": true}')],
            ProcessRequest(priority=Priority.HIGH, force_ocr=True),
        ),
        (
            _scope((b"content-type", b"Application/JSON")),
            [_body(b'{"ocr_languages": "eng+por"}')],
            ProcessRequest(ocr_languages="eng+por"),
        ),
    ],
    ids=["empty", "null", "empty-object", "in-two-parts", "languages"],
)
async def test_bodies_it_answers_itself(scope: Any, messages: Any, expected: Any) -> None:
    options, read, left = await _read(scope, *messages)
    assert options == expected
    assert (len(read), left) == (len(messages), 0)


@pytest.mark.parametrize(
    ("scope", "messages", "reads"),
    [
        # the handler's validation names the field
        (_scope(JSON), [_body(b'{"priority": "urgent"}')], 1),
        (_scope(JSON), [_body(b'{"unknown": 1}')], 1),
        (_scope(JSON), [_body(b"{not json")], 1),
        (_scope(JSON), [_body(b" ")], 1),
        # the handler coerces what strict decoding refuses; it decides
        (_scope(JSON), [_body(b'{"force_ocr": "true"}')], 1),
        # not read at all
        ({**_scope(), "query_string": b"force_ocr=true"}, [_body(b"")], 0),
        (_scope((b"content-type", b"text/plain")), [_body(b"{}")], 0),
        (_scope(JSON, (b"content-length", b"4097")), [_body(b" " * 4097)], 0),
        (_scope(JSON, (b"content-length", b"ten")), [_body(b"{}")], 0),
        # read until it is too large, or the client left
        (_scope(JSON), [_body(b" " * MAX_BODY_BYTES, True), _body(b"{}")], 2),
        (_scope(JSON), [_body(b"{", True), {"type": "http.disconnect"}], 2),
    ],
    ids=[
        "bad-priority",
        "unknown-field",
        "not-json",
        "blank",
        "coercion",
        "query-string",
        "text-type",
        "declared-too-long",
        "bad-length",
        "too-long",
        "disconnect",
    ],
)
async def test_requests_it_leaves_to_the_handler_keep_what_was_read(
    scope: Any, messages: Any, reads: int
) -> None:
    options, read, left = await _read(scope, *messages)
    assert options is None
    assert read == messages[:reads]  # given again to the handler
    assert left == len(messages) - reads
