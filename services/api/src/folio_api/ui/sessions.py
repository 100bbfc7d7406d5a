"""Dashboard sessions, kept in Redis.

Signing in with an API key creates a session: a random token (the cookie's
value, never stored: Redis holds its SHA-256), the key's id, kind and
tenant, and a CSRF token the pages put in every form. A session ends at
sign-out, or ``FOLIO_UI_SESSION_TTL_S`` after sign-in (8 hours unless set,
:class:`~folio_api.ui.settings.UiSettings`), or as soon as its API key is
revoked (checked on every page, see :func:`key_is_live`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_api.domain.auth.principal import Principal
from folio_shared.db.enums import ApiKeyKind
from folio_shared.db.models import ApiKey

#: The session cookie's name.
COOKIE = "folio_session"


@dataclass(frozen=True, slots=True)
class UiSession:
    """A signed-in browser: who it acts as and its CSRF token."""

    principal: Principal
    csrf: str


def _key(namespace: str, token: str) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return f"{namespace}:ui:session:{digest}"


async def create(redis: Redis, namespace: str, principal: Principal, ttl_s: int) -> str:
    """A new session for ``principal``; its token (the cookie's value)."""
    token = secrets.token_urlsafe(32)
    value = {
        "key_id": str(principal.key_id),
        "kind": principal.kind.value,
        "tenant_id": str(principal.tenant_id) if principal.tenant_id else None,
        "csrf": secrets.token_urlsafe(32),
    }
    await redis.set(_key(namespace, token), json.dumps(value), ex=ttl_s)
    return token


async def load(redis: Redis, namespace: str, token: str | None) -> UiSession | None:
    """The session of ``token``, or ``None`` (no cookie, expired, signed out)."""
    if not token or len(token) > 128:
        return None
    raw = await redis.get(_key(namespace, token))
    if raw is None:
        return None
    value = json.loads(raw)
    tenant = value.get("tenant_id")
    principal = Principal(
        key_id=uuid.UUID(value["key_id"]),
        kind=ApiKeyKind(value["kind"]),
        tenant_id=uuid.UUID(tenant) if tenant else None,
    )
    return UiSession(principal=principal, csrf=str(value["csrf"]))


async def delete(redis: Redis, namespace: str, token: str | None) -> None:
    """End the session of ``token`` (sign-out)."""
    if token:
        await redis.delete(_key(namespace, token))


async def key_is_live(sessions: async_sessionmaker[AsyncSession], key_id: uuid.UUID) -> bool:
    """Whether the session's API key still exists and is not revoked."""
    async with sessions() as session:
        found = await session.scalar(
            sa.select(ApiKey.id).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        )
    return found is not None


def csrf_ok(session: UiSession, given: str | None) -> bool:
    """Whether ``given`` is the session's CSRF token (constant-time)."""
    return bool(given) and hmac.compare_digest(session.csrf.encode(), str(given).encode())
