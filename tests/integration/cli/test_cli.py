"""The real ``folio`` console script against a real, fresh database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from folio_shared.db import migrate
from folio_shared.db.engine import async_database_url, create_session_factory
from folio_shared.db.enums import ApiKeyKind
from folio_shared.db.models import Tenant
from folio_shared.db.repositories.api_keys import find_api_key

pytestmark = pytest.mark.integration

FOLIO = Path(sys.executable).with_name("folio")
KEY_RE = re.compile(r"folio_[a-z0-9]{12}_[a-z2-7]{52}")


async def _admin(admin_url: str, statement: str) -> None:
    engine = create_async_engine(async_database_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def database_url(test_servers: Any) -> AsyncIterator[str]:
    """A fresh database (plain ``postgresql://`` URL, as users write it)."""
    admin_url: str = test_servers.pg_admin_url
    name = f"folio_t_cli_{uuid.uuid4().hex[:8]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def folio(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    env["FOLIO_DATABASE_URL"] = database_url
    return subprocess.run(
        [str(FOLIO), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def _resolve(database_url: str, key: str) -> tuple[ApiKeyKind, str | None] | None:
    engine = create_async_engine(async_database_url(database_url))
    try:
        async with create_session_factory(engine)() as session:
            row = await find_api_key(session, key)
            if row is None:
                return None
            tenant = await session.get(Tenant, row.tenant_id) if row.tenant_id else None
            return row.kind, tenant.name if tenant else None
    finally:
        await engine.dispose()


async def test_migrate_then_create_tenant_prints_a_working_key(database_url: str) -> None:
    migrated = folio(database_url, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"revision {migrate.head()}" in migrated.stdout

    created = folio(database_url, "tenants", "create", "acme")

    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert KEY_RE.fullmatch(key), created.stdout
    assert await _resolve(database_url, key) == (ApiKeyKind.TENANT, "acme")


async def test_creating_the_same_tenant_twice_fails_clearly(database_url: str) -> None:
    assert folio(database_url, "migrate").returncode == 0
    folio(database_url, "tenants", "create", "twice")

    again = folio(database_url, "tenants", "create", "twice")

    assert again.returncode == 1
    assert "tenant 'twice' already exists" in again.stderr
    assert "Traceback" not in again.stderr
    assert not KEY_RE.search(again.stdout)


async def test_tenants_list_and_operator_keys(database_url: str) -> None:
    assert folio(database_url, "migrate").returncode == 0
    folio(database_url, "tenants", "create", "listed")

    listed = folio(database_url, "tenants", "list")
    assert listed.returncode == 0, listed.stderr
    assert any(line.endswith("  listed") for line in listed.stdout.splitlines())

    operator = folio(database_url, "keys", "create-operator", "on-call")
    assert operator.returncode == 0, operator.stderr
    key = operator.stdout.strip().splitlines()[-1]
    assert await _resolve(database_url, key) == (ApiKeyKind.OPERATOR, None)


async def test_tenant_limits_are_set_and_reset(database_url: str) -> None:
    assert folio(database_url, "migrate").returncode == 0
    folio(database_url, "tenants", "create", "limited")
    set_ = folio(
        database_url,
        "tenants",
        "limits",
        "limited",
        "--max-priority",
        "critical",
        "--kinds",
        "audio.analyze, report.build",
    )
    assert set_.returncode == 0, set_.stderr
    assert await _limits(database_url, "limited") == ("critical", ["audio.analyze", "report.build"])
    reset = folio(database_url, "tenants", "limits", "limited")
    assert reset.returncode == 0, reset.stderr
    assert await _limits(database_url, "limited") == (None, None)
    bad = folio(database_url, "tenants", "limits", "limited", "--max-priority", "urgent")
    assert bad.returncode == 1
    assert "max priority must be one of" in bad.stderr + bad.stdout
    missing = folio(database_url, "tenants", "limits", "nobody")
    assert missing.returncode == 1


async def _limits(database_url: str, name: str) -> tuple[str | None, list[str] | None]:
    engine = create_async_engine(async_database_url(database_url))
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(Tenant.max_priority, Tenant.allowed_kinds).where(Tenant.name == name)
                )
            ).one()
    finally:
        await engine.dispose()
    return row.max_priority, row.allowed_kinds


async def test_migrate_down_to_base_and_back(database_url: str) -> None:
    down = folio(database_url, "migrate", "down", "base")
    assert down.returncode == 0, down.stderr
    assert "revision base" in down.stdout

    # Without the schema, commands fail with a hint, not a traceback.
    listed = folio(database_url, "tenants", "list")
    assert listed.returncode == 2
    assert "folio migrate" in listed.stderr
    assert "Traceback" not in listed.stderr

    up = folio(database_url, "migrate", "--revision", "head")
    assert up.returncode == 0, up.stderr
    current = folio(database_url, "migrate", "current")
    assert f"current: {migrate.head()}" in current.stdout


def test_unreachable_database_is_a_clear_error() -> None:
    result = folio("postgresql://postgres:secret@127.0.0.1:1/nothing", "tenants", "list")
    assert result.returncode == 2
    assert "127.0.0.1:1" in result.stderr
    assert "secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "folio_cli.app", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    for group in ("migrate", "tenants", "keys"):
        assert group in result.stdout
