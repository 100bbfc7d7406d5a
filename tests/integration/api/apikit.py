"""Helpers of the API tests: sample files, settings, tenants with keys."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.live_server import LiveServer, serve

from folio_shared.db.engine import create_session_factory
from folio_shared.db.repositories.api_keys import create_operator_key
from folio_shared.db.repositories.tenants import create_tenant
from folio_shared.settings import (
    ApiSettings,
    BrokerSettings,
    DatabaseSettings,
    FolioSettings,
    RedisSettings,
    StorageSettings,
    UploadSettings,
)

#: Upload limit of the test API (small, so 413 is cheap to reach).
TEST_MAX_BYTES = 1024 * 1024


def pdf_bytes(tag: str = "") -> bytes:
    body = f"1 0 obj << /Type /Catalog >> endobj % {tag} {uuid.uuid4()}\n".encode()
    return b"%PDF-1.4\n" + body + b"trailer << /Root 1 0 R >>\n%%EOF\n"


def png_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + uuid.uuid4().bytes * 4


def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(f"hello {uuid.uuid4()}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def text_bytes() -> bytes:
    return f"plain text {uuid.uuid4()}\nsecond line\n".encode()


def api_settings(
    tmp: Path,
    *,
    database_url: str,
    redis_url: str,
    max_bytes: int = TEST_MAX_BYTES,
    rate_limit_per_minute: int = 100_000,
    auth_failures_per_minute: int = 100_000,
    public_base_url: str = "http://127.0.0.1:8000",
) -> FolioSettings:
    return FolioSettings(
        env="test",
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=redis_url),
        broker=BrokerSettings(namespace=f"t{uuid.uuid4().hex[:10]}"),
        storage=StorageSettings(
            backend="local",
            local_root=tmp / "store",
            signing_secret="api-test-signing-secret-0123456789",
            public_base_url=public_base_url,
        ),
        upload=UploadSettings(max_bytes=max_bytes),
        api=ApiSettings(
            rate_limit_per_minute=rate_limit_per_minute,
            auth_failures_per_minute=auth_failures_per_minute,
        ),
    )


@dataclass(frozen=True)
class TenantKey:
    tenant_id: uuid.UUID
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(engine: AsyncEngine, label: str) -> TenantKey:
    async with create_session_factory(engine)() as session:
        tenant, key = await create_tenant(session, f"{label}-{uuid.uuid4().hex[:8]}")
        await session.commit()
    return TenantKey(tenant.id, key)


async def make_operator(engine: AsyncEngine) -> str:
    async with create_session_factory(engine)() as session:
        _, key = await create_operator_key(session, f"ops-{uuid.uuid4().hex[:6]}")
        await session.commit()
    return key


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is problem details with ``status`` and ``code``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"urn:folio:problem:{code}"
    assert body["title"]
    assert body["detail"]
    return body


async def queued_messages(redis: Redis, namespace: str, queue: str) -> dict[str, dict[str, Any]]:
    """Redis message id → decoded Dramatiq message, of ``queue``'s ready list."""
    ids = [i.decode() for i in await redis.lrange(f"{namespace}:{queue}", 0, -1)]
    out = {}
    for rid in ids:
        raw = await redis.hget(f"{namespace}:{queue}.msgs", rid)
        assert raw is not None
        out[rid] = json.loads(raw)
    return out


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Events of an SSE body: dicts with id/event/data, comments as {"comment": ...}."""
    out: list[dict[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        item: dict[str, Any] = {}
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "":
                item["comment"] = value
            else:
                item[field] = value
        out.append(item)
    return out


@contextlib.contextmanager
def live_api(
    tmp: Path, *, database_url: str, redis_url: str, **app_options: float
) -> Iterator[LiveServer]:
    """The API with :func:`api_settings` on a loopback port, over real HTTP."""
    with serve(
        lambda base_url: api_settings(
            tmp, database_url=database_url, redis_url=redis_url, public_base_url=base_url
        ),
        **app_options,
    ) as server:
        yield server
