"""``GET /healthz`` (liveness) and ``GET /readyz`` (readiness)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State

from folio_api.domain.health.schemas import Liveness, Readiness
from folio_api.domain.health.services import OK, check_readiness, stalled_jobs
from folio_api.errors import problem_response
from folio_api.resources import get_resources


class HealthController(Controller):
    """Probes for orchestrators: no authentication, never cached."""

    tags = ["health"]
    cache_control = None

    @get("/healthz", summary="Liveness: 200 while the process serves requests")
    async def healthz(self) -> Liveness:
        return Liveness()

    @get(
        "/readyz",
        summary="Readiness: Redis, PostgreSQL and storage reachable",
        description=(
            "200 `ready`; 200 `degraded` with `stalled_jobs` when running jobs stopped "
            "moving (see `/v1/ops/stalled`); 503 `not_ready` naming what is unreachable."
        ),
        responses={},
    )
    async def readyz(self, state: State) -> Response[Any]:
        resources = get_resources(state)
        checks = await check_readiness(resources.redis, resources.engine, resources.storage)
        failing = {name: result for name, result in checks.items() if result != OK}
        if not failing:
            stalled = await stalled_jobs(resources.engine)
            if stalled:
                return Response(Readiness(status="degraded", checks=checks, stalled_jobs=stalled))
            return Response(Readiness(status="ready", checks=checks))
        detail = "; ".join(
            f"{name} unreachable: {result.removeprefix('error: ')}"
            for name, result in failing.items()
        )
        return problem_response(
            503, "not_ready", detail, title="Service not ready", extra={"checks": checks}
        )
