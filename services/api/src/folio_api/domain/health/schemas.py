"""Wire types of the health probes."""

from __future__ import annotations

import msgspec


class Liveness(msgspec.Struct, frozen=True):
    """``GET /healthz``: ``status`` is always ``"ok"``."""

    status: str = "ok"


class Readiness(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``GET /readyz`` when ready: ``status`` ``"ready"``, one ``"ok"`` per
    dependency; ``"degraded"`` (still 200) with ``stalled_jobs`` (their
    count, present only then) when running jobs have stopped moving."""

    status: str
    checks: dict[str, str]
    stalled_jobs: int | None = None
