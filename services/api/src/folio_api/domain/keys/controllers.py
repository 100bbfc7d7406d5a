"""``/v1/keys``: a tenant's own API keys, so a key can be rotated without
downtime: create a second key, switch the clients to it, revoke the first.

A revoked key stops authenticating within the key cache's lifetime (30 s by
default, :mod:`folio_api.domain.auth.keys`). The last live key of a tenant
cannot be revoked (409 ``last_key``): the tenant would be locked out.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from litestar import Controller, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from folio_api.domain.auth.principal import Principal
from folio_api.domain.keys.schemas import KeyCreate, KeyCreated, KeyList, KeyOut
from folio_api.errors import problem_responses
from folio_api.resources import get_resources
from folio_shared.db.models import ApiKey
from folio_shared.db.repositories.api_keys import create_tenant_key, revoke_api_key
from folio_shared.errors import FolioError, NotFound


class KeyNotFound(NotFound):
    code = "key_not_found"


class LastKey(FolioError):
    """Revoking the tenant's only live key would lock it out."""

    code = "last_key"
    http_status = 409


def _out(row: ApiKey, principal: Principal) -> KeyOut:
    return KeyOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        current=row.id == principal.key_id,
    )


class KeysController(Controller):
    """Create, list and revoke the tenant's API keys."""

    path = "/keys"
    tags = ["keys"]

    @post(
        "/",
        summary="Create an API key for the tenant (the key is shown once)",
        status_code=201,
        responses=problem_responses(400),
    )
    async def create_key(
        self, state: State, principal: NamedDependency[Principal], data: JSONBody[KeyCreate]
    ) -> KeyCreated:
        sessions = get_resources(state).sessions
        assert sessions is not None
        async with sessions() as session:
            row, key = await create_tenant_key(
                session, principal.tenant(), data.name, actor=f"api_key:{principal.key_id}"
            )
            await session.commit()
            return KeyCreated(key=key, api_key=_out(row, principal))

    @get(
        "/",
        summary="The tenant's API keys, revoked ones included",
        responses=problem_responses(),
    )
    async def list_keys(self, state: State, principal: NamedDependency[Principal]) -> KeyList:
        sessions = get_resources(state).sessions
        assert sessions is not None
        async with sessions() as session:
            rows = await session.scalars(
                sa.select(ApiKey)
                .where(ApiKey.tenant_id == principal.tenant())
                .order_by(ApiKey.created_at, ApiKey.id)
            )
            return KeyList(items=[_out(row, principal) for row in rows])

    @delete(
        "/{key_id:uuid}",
        summary="Revoke one of the tenant's API keys (effective within 30 s)",
        status_code=204,
        responses=problem_responses(404, 409),
    )
    async def revoke_key(
        self, state: State, principal: NamedDependency[Principal], key_id: FromPath[uuid.UUID]
    ) -> None:
        sessions = get_resources(state).sessions
        assert sessions is not None
        tenant = principal.tenant()
        async with sessions() as session:
            live = list(
                await session.scalars(
                    sa.select(ApiKey.id)
                    .where(ApiKey.tenant_id == tenant, ApiKey.revoked_at.is_(None))
                    .with_for_update()
                )
            )
            if key_id not in live:
                owned = await session.scalar(
                    sa.select(ApiKey.id).where(ApiKey.id == key_id, ApiKey.tenant_id == tenant)
                )
                if owned is None:
                    raise KeyNotFound(f"no API key {key_id}", key_id=str(key_id))
                return  # revoked already
            if len(live) == 1:
                raise LastKey(
                    "this is the tenant's last live key: create another before revoking it"
                )
            await revoke_api_key(session, key_id, actor=f"api_key:{principal.key_id}")
            await session.commit()
