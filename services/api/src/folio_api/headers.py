"""Headers every HTTP answer of the API carries, whoever builds it.

``X-Content-Type-Options: nosniff``: stored files are served with the type
they were stored with (``GET /v1/documents/{id}/file``, the local backend's
``GET /storage/download``), and no browser may sniff one into HTML or
script; nothing else the API answers needs sniffing either. It is added to
the response's start message, so answers built without Litestar's response
objects (the process route's shortcut) carry it like the others.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

#: Added to every answer, as ASGI header pairs.
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)


class SecurityHeaders(ASGIMiddleware):
    """Adds :data:`SECURITY_HEADERS` to every HTTP answer."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        await next_app(scope, receive, send_with_headers)
