"""``GET /healthz`` (liveness) and ``GET /readyz`` (readiness)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State

from folio_api.domain.health.schemas import Liveness, Readiness
from folio_api.domain.health.services import check_readiness, stalled_jobs, verdict
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
        summary="Readiness: PostgreSQL and storage reachable (Redis down: degraded)",
        description=(
            "200 `ready` when Redis, PostgreSQL and storage answer; 200 `degraded` naming "
            "what is impaired in `degraded` (Redis unreachable: uploads and `process` still "
            "work through the outbox) and with `stalled_jobs` when running jobs stopped "
            "moving (see `/v1/ops/stalled`); 503 `not_ready` naming the unreachable part "
            "when PostgreSQL or storage does not answer."
        ),
        responses={},
    )
    async def readyz(self, state: State) -> Response[Any]:
        resources = get_resources(state)
        checks = await check_readiness(resources.redis, resources.engine, resources.storage)
        failing, degraded = verdict(checks)
        if failing:
            detail = "; ".join(f"{name} {checks[name]}" for name in failing)
            return problem_response(
                503, "not_ready", detail, title="Service not ready", extra={"checks": checks}
            )
        stalled = await stalled_jobs(resources.engine)
        if stalled:
            degraded.append("jobs_stalled")
        if degraded:
            return Response(
                Readiness(status="degraded", checks=checks, degraded=degraded, stalled_jobs=stalled)
            )
        return Response(Readiness(status="ready", checks=checks))
