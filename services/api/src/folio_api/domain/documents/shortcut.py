"""``POST /v1/documents/{id}/process`` without Litestar's request and
response objects, for the requests that need none of them.

The process route is the API's busiest write, and its own work is small:
one batched statement and one batched Redis send (:mod:`.batching`).
Around it, Litestar built a request object, ran the signature and
dependency models, the JSON body extractor and the ``principal``
dependency, then a response object and its ASGI response: in a profile of
the two API workers at 1,500 requests/s that was ~13 % of their CPU, more
than the queueing code itself. Litestar has no lighter kind of handler
that keeps the route in the OpenAPI document and its validation errors,
so the shortcut is route middleware on that one handler.

:class:`ProcessShortcut` runs after routing (the document id is parsed from
the path), after authentication and the rate limit
(:class:`~folio_api.domain.auth.guards.AuthMiddleware`) and inside the
metrics and tracing middleware: a request it answers is counted, traced and
authenticated like any other. It answers a request whose body is empty or
a :class:`~.schemas.ProcessRequest` in JSON (strictly typed: no coercion)
exactly as the handler would: both build the answer with
:func:`~folio_api.domain.documents.ingest.process_answer`. Any other request
(a query string, another content type, a body over :data:`MAX_BODY_BYTES`,
a body it cannot decode) goes on to the handler with the body it read, and
Litestar answers it as before: the handler stays the reference, and its errors and schema
are Litestar's. Errors of the queueing itself (no such document, a
presigned upload whose object is wrong) are raised; the exception handlers
around the route make them problem details, as for the handler.
"""

from __future__ import annotations

import uuid
from collections import deque
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.serialization import encode_json
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from folio_api.domain.auth.guards import PRINCIPAL_KEY
from folio_api.domain.auth.principal import Principal
from folio_api.domain.documents.ingest import process_answer
from folio_api.domain.documents.schemas import ProcessRequest
from folio_api.resources import get_resources

#: Largest body the shortcut reads; a larger one goes to the handler.
MAX_BODY_BYTES = 4096

_decode = msgspec.json.Decoder(ProcessRequest | None).decode


def _headers_allow(scope: Scope) -> bool:
    """Whether the headers leave the body to the shortcut: no content type
    or JSON, and no declared length over :data:`MAX_BODY_BYTES` (none at
    all: no body, or a chunked one, counted as it is read)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            if value.split(b";", 1)[0].strip().lower() != b"application/json":
                return False
        elif name == b"content-length":
            try:
                if int(value) > MAX_BODY_BYTES:
                    return False
            except ValueError:
                return False
    return True


async def read_options(
    scope: Scope, receive: Receive, read: list[ReceiveMessage]
) -> ProcessRequest | None:
    """The request's options, read from its body; ``None`` if the handler
    must answer it instead. Every message taken from ``receive`` is
    appended to ``read``, for the handler to be given again."""
    # a query parameter is the handler's to read
    if scope.get("query_string") or not _headers_allow(scope):
        return None
    body = b""
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":  # the client left: the handler sees it
            return None
        body += message.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            break
    if not body:
        return ProcessRequest()
    try:
        return _decode(body) or ProcessRequest()
    except msgspec.DecodeError:  # Litestar's own answer (it names the field)
        return None


def _replay(read: list[ReceiveMessage], receive: Receive) -> Receive:
    """``receive``, giving the messages in ``read`` first."""
    if not read:
        return receive
    pending = deque(read)

    async def replay() -> Any:
        return pending.popleft() if pending else await receive()

    return replay


class ProcessShortcut(ASGIMiddleware):
    """Answers ``process`` requests it can without the handler (see the
    module notes); passes the others on."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        read: list[ReceiveMessage] = []
        options = await read_options(scope, receive, read)
        principal = scope.get("state", {}).get(PRINCIPAL_KEY)
        if options is None or not isinstance(principal, Principal):
            await next_app(scope, _replay(read, receive), send)
            return
        document_id = scope["path_params"]["document_id"]
        assert isinstance(document_id, uuid.UUID)  # the route's ``{document_id:uuid}``
        answer, status = await process_answer(
            get_resources(scope["litestar_app"].state), principal.tenant(), document_id, options
        )
        body = encode_json(answer)
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        content: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body}
        await send(start)
        await send(content)
