"""Wire types of the health probes."""

from __future__ import annotations

import msgspec


class Liveness(msgspec.Struct, frozen=True):
    """``GET /healthz``: ``status`` is always ``"ok"``."""

    status: str = "ok"


class Readiness(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``GET /readyz`` when ready: ``status`` ``"ready"``, one ``"ok"`` per
    dependency in ``checks``; ``"degraded"`` (still 200) when something the
    API can work without is impaired, named in ``degraded``: ``"redis"``
    (unreachable: its check says ``"unreachable"`` or ``"timed out"``),
    ``"jobs_stalled"`` (running jobs have stopped moving; their count in
    ``stalled_jobs``). ``degraded`` and ``stalled_jobs`` are present only then."""

    status: str
    checks: dict[str, str]
    degraded: list[str] | None = None
    stalled_jobs: int | None = None
