"""``/schema`` declares ``Idempotency-Key`` on every ``POST`` the
idempotency middleware serves, and on nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar

from folio_api.app import create_app
from folio_api.domain.idempotency.middleware import IdempotencyMiddleware
from folio_shared.settings import FolioSettings


@pytest.fixture(scope="module")
def app() -> Litestar:
    return create_app(FolioSettings(env="test"))


@pytest.fixture(scope="module")
def paths(app: Litestar) -> dict[str, Any]:
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema["paths"]


@pytest.fixture(scope="module")
def idempotent(app: Litestar) -> set[str]:
    """The paths whose ``POST`` runs the idempotency middleware."""
    return {
        route.path_format
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if "POST" in handler.http_methods
        and any(isinstance(m, IdempotencyMiddleware) for m in handler.resolve_middleware())
    }


def _declares_key(operation: dict[str, Any]) -> bool:
    return any(
        p.get("in") == "header" and p.get("name") == "Idempotency-Key"
        for p in operation.get("parameters", [])
    )


def test_every_post_the_middleware_serves_declares_the_key(
    paths: dict[str, Any], idempotent: set[str]
) -> None:
    assert {"/v1/documents", "/v1/jobs", "/v1/batches", "/v1/uploads", "/v1/keys"} <= idempotent
    assert [path for path in idempotent if not _declares_key(paths[path]["post"])] == []
    [header] = [
        p for p in paths["/v1/jobs"]["post"]["parameters"] if p["name"] == "Idempotency-Key"
    ]
    assert header["required"] is False
    assert header["schema"]["maxLength"] == 255
    for path in idempotent:  # the key's own refusals are documented answers
        assert {"409", "422"} <= set(paths[path]["post"]["responses"]), path


def test_no_other_operation_declares_it(paths: dict[str, Any], idempotent: set[str]) -> None:
    others = [
        (path, method)
        for path, ops in paths.items()
        for method, op in ops.items()
        if isinstance(op, dict)
        and (method != "post" or path not in idempotent)
        and _declares_key(op)
    ]
    assert others == []
    assert "/v1/ops/dead/redrive" not in idempotent  # operator routes: not served
