"""Wire types of the health probes."""

from __future__ import annotations

import msgspec


class Liveness(msgspec.Struct, frozen=True):
    """``GET /healthz``: ``status`` is always ``"ok"``."""

    status: str = "ok"


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /readyz`` when ready: ``status`` ``"ready"``, one ``"ok"`` per dependency."""

    status: str = "ready"
    checks: dict[str, str]
