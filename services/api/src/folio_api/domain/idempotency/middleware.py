"""``Idempotency-Key`` on the API's ``POST`` routes.

A client that sends ``Idempotency-Key: <key>`` (1 to 255 visible ASCII
characters) with a ``POST`` may send the same request again, after a
timeout or a dropped connection, without creating a second thing:

- the first request with a key claims it (a row in ``idempotency_keys``,
  inserted before the route runs) and its response is stored: status,
  headers and body;
- a request with the same key and the same method, path, query and body
  within :data:`RETENTION_S` (24 h) gets that response again, with
  ``Idempotent-Replayed: true``; one arriving while the first still runs
  waits for it (up to :data:`WAIT_S`, then 409 ``idempotency_key_in_use``);
- the same key with another request is refused: 422
  ``idempotency_key_reused``.

Keys belong to a tenant (operator keys: to the key): two tenants may use
the same key. A multipart body's boundary is left out of the comparison,
so a client that encodes the same form again matches. Responses of 429 and
5xx are not stored (the claim is dropped: a retry runs again), nor bodies
over :data:`MAX_STORED_BYTES`. Rows past their 24 hours are deleted by
:func:`~folio_api.domain.idempotency.purge.run_purge`. A claim whose request never answered (the
process died) is taken over after :data:`ABANDONED_S`.

The body is hashed as it streams to the route, never held in memory; a
route that answers before reading all of its body (an early refusal) is
compared on the part it read.
"""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from folio_api.domain.auth.guards import PRINCIPAL_KEY
from folio_api.domain.auth.principal import Principal
from folio_api.domain.idempotency import repository
from folio_api.domain.idempotency.purge import RETENTION_S
from folio_api.resources import get_resources
from folio_shared.errors import FolioError, InvalidInput

HEADER = b"idempotency-key"
#: How long a request waits for the first request with its key, in seconds.
WAIT_S = 30.0
#: Age after which a claim with no response is taken over, in seconds.
ABANDONED_S = 600.0
#: Largest response body stored for replay, in bytes.
MAX_STORED_BYTES = 1024 * 1024
#: Response headers not replayed (they describe the first exchange).
_NOT_REPLAYED = frozenset({"date", "content-length", "server", "x-request-id", "traceparent"})


class IdempotencyKeyReused(FolioError):
    """The key was used for another request (method, path, query or body)."""

    code = "idempotency_key_reused"
    http_status = 422


class IdempotencyKeyInUse(FolioError):
    """The first request with this key is still running."""

    code = "idempotency_key_in_use"
    http_status = 409


class BodyHasher:
    """SHA-256 of a request: method, path, query and body, the body's
    multipart ``boundary`` (from ``content_type``) removed, chunk by chunk."""

    def __init__(self, method: str, path: str, query: bytes, content_type: bytes) -> None:
        self._hash = hashlib.sha256(b"\0".join((method.encode(), path.encode(), query, b"")))
        self._boundary = _boundary(content_type)
        self._tail = b""

    def update(self, chunk: bytes) -> None:
        if not self._boundary:
            self._hash.update(chunk)
            return
        data = (self._tail + chunk).replace(self._boundary, b"")
        keep = len(self._boundary) - 1
        self._hash.update(data[: len(data) - keep] if len(data) > keep else b"")
        self._tail = data[len(data) - keep :] if len(data) > keep else data

    def hexdigest(self) -> str:
        copy = self._hash.copy()
        copy.update(self._tail)
        return copy.hexdigest()


def _boundary(content_type: bytes) -> bytes:
    if not content_type.lower().startswith(b"multipart/"):
        return b""
    for part in content_type.split(b";")[1:]:
        name, _, value = part.strip().partition(b"=")
        if name.lower() == b"boundary":
            return value.strip(b'"')
    return b""


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _check_key(raw: bytes) -> str:
    if not 1 <= len(raw) <= 255 or any(not 0x21 <= b <= 0x7E for b in raw):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            field="Idempotency-Key",
        )
    return raw.decode("ascii")


def _scope_of(principal: Principal) -> str:
    if principal.tenant_id is not None:
        return f"tenant:{principal.tenant_id}"
    return f"key:{principal.key_id}"


class IdempotencyMiddleware(ASGIMiddleware):
    """Route middleware (after authentication) giving ``POST`` routes
    idempotency keys; see the module notes."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        method = scope.get("method")
        raw = _header(scope, HEADER) if method == "POST" else None
        if raw is None or not isinstance(method, str):
            await next_app(scope, receive, send)
            return
        key = _check_key(raw)
        principal = scope["state"][PRINCIPAL_KEY]
        pg = get_resources(scope["litestar_app"].state).pg
        assert pg is not None
        hasher = BodyHasher(
            method,
            scope["path"],
            scope.get("query_string", b""),
            _header(scope, b"content-type") or b"",
        )
        owner = _scope_of(principal)
        while True:
            if await repository.claim(pg, owner, key, method, scope["path"]):
                await _run_first(pg, owner, key, hasher, scope, receive, send, next_app)
                return
            stored = await _settled(pg, owner, key)
            if stored is not None:
                break
        await _drain(receive, hasher)
        if stored.request_hash != hasher.hexdigest():
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for another request in the last 24 hours",
                idempotency_key=key,
            )
        await _replay(stored, send)


async def _settled(pg: asyncpg.Pool, owner: str, key: str) -> repository.Stored | None:
    """The key's completed row, waiting for a running first request;
    ``None`` when the row went (expired, abandoned or released): claim again."""
    delay, waited = 0.02, 0.0
    while True:
        stored = await repository.read(pg, owner, key)
        if stored is None:
            return None
        if stored.completed and stored.age_s < RETENTION_S:
            return stored
        if stored.age_s >= (RETENTION_S if stored.completed else ABANDONED_S):
            await repository.drop_old(pg, owner, key, stored.created_at)
            return None
        if waited >= WAIT_S:
            raise IdempotencyKeyInUse(
                "a request with this Idempotency-Key is still running; retry later",
                idempotency_key=key,
                retry_after_s=1,
            )
        await asyncio.sleep(delay)
        waited += delay
        delay = min(delay * 2, 0.5)


async def _drain(receive: Receive, hasher: BodyHasher) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        hasher.update(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _run_first(
    pg: asyncpg.Pool,
    owner: str,
    key: str,
    hasher: BodyHasher,
    scope: Scope,
    receive: Receive,
    send: Send,
    next_app: ASGIApp,
) -> None:
    status = 0
    headers: list[list[str]] = []
    body: list[bytes] = []
    size = 0

    async def hashing_receive() -> ReceiveMessage:
        message = await receive()
        if message["type"] == "http.request":
            hasher.update(message.get("body", b""))
        return message

    async def capturing_send(message: Message) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.extend(
                [k.decode("latin-1"), v.decode("latin-1")]
                for k, v in message.get("headers", [])
                if k.decode("latin-1").lower() not in _NOT_REPLAYED
            )
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= MAX_STORED_BYTES:
                body.append(chunk)
        await send(message)

    try:
        await next_app(scope, hashing_receive, capturing_send)
    except BaseException:
        await asyncio.shield(repository.release(pg, owner, key))
        raise
    if status >= 500 or status in (0, 429) or size > MAX_STORED_BYTES:
        await repository.release(pg, owner, key)
        return
    await repository.complete(pg, owner, key, hasher.hexdigest(), status, headers, b"".join(body))


async def _replay(stored: repository.Stored, send: Send) -> None:
    body = stored.body
    headers: list[tuple[bytes, bytes]] = [
        (k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers
    ]
    headers.append((b"content-length", str(len(body)).encode()))
    headers.append((b"idempotent-replayed", b"true"))
    assert stored.status_code is not None
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
