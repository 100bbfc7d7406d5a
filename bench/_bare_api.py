"""A baseline of ``api_process.py``: the ``process`` route's own work behind
a bare ASGI app, without the framework.

``POST /v1/documents/{id}/process`` here runs exactly what the API's
handler runs (:func:`folio_api.domain.documents.ingest.queue_processing`:
the batched statement and the Redis send, on the API's own resources)
and answers the same JSON, but without Litestar (routing, middleware,
parameter parsing, responses), authentication, rate limiting or metrics:
every document belongs to the tenant ``FOLIO_BENCH_TENANT_ID``. What the
real API costs on top of this is the framework's share.

Served by uvicorn like the API:
``uvicorn _bare_api:app --http folio_api.http:HttpToolsProtocol``.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import msgspec

from folio_api.app import create_app
from folio_api.domain.documents import ingest
from folio_api.domain.documents.schemas import upload_out
from folio_api.resources import get_resources
from folio_shared.messages import Priority

_api = create_app()
_tenant = uuid.UUID(os.environ["FOLIO_BENCH_TENANT_ID"])
_encode = msgspec.json.Encoder().encode
_HEADERS = [(b"content-type", b"application/json")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":  # the API's own: its pools, batcher and sender
        await _api(scope, receive, send)  # type: ignore[arg-type]
        return
    path: str = scope["path"]
    if scope["method"] == "GET" and path == "/healthz":
        status, body = 200, b'{"status":"ok"}'
    else:
        document_id = uuid.UUID(path.split("/")[3])
        result = await ingest.queue_processing(
            get_resources(_api.state), _tenant, document_id, priority=Priority.NORMAL
        )
        status, body = 202, _encode(upload_out(result))
    headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
