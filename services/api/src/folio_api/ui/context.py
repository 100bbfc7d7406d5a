"""What every dashboard template gets: the session's CSRF token, who is
signed in, the navigation, and small formatting helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request
from litestar.response import Template

from folio_api.ui.auth import current_session

#: Navigation of a tenant's session: (path, label).
TENANT_NAV = [
    ("/ui", "Home"),
    ("/ui/upload", "Upload"),
    ("/ui/documents", "Documents"),
    ("/ui/search", "Search"),
    ("/ui/jobs", "Jobs"),
    ("/ui/job-types", "Job kinds"),
]
#: Navigation of an operator's session.
OPERATOR_NAV = [
    ("/ui/ops/queues", "Queues"),
    ("/ui/ops/workers", "Workers"),
    ("/ui/ops/jobs", "Jobs"),
    ("/ui/ops/dead", "Dead letters"),
    ("/ui/ops/stalled", "Stalled"),
    ("/ui/ops/audit", "Audit log"),
]


def page(
    request: Request[Any, Any, Any], name: str, title: str, status_code: int = 200, **context: Any
) -> Template:
    """Render ``ui/<name>.html`` with the common context and ``context``."""
    session = current_session(request)
    nav = OPERATOR_NAV if session.principal.is_operator else TENANT_NAV
    return Template(
        template_name=f"ui/{name}.html",
        context={
            "title": title,
            "csrf": session.csrf,
            "principal": session.principal,
            "nav": nav,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def ago(value: datetime | None) -> str:
    """``value`` as a short age (``12 s``, ``3 min``, ``2 h``, ``4 d``)."""
    if value is None:
        return "—"
    seconds = max(0, int((datetime.now(UTC) - value).total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def when(value: datetime | None) -> str:
    """``value`` as ``YYYY-MM-DD HH:MM:SS`` UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def size(value: int | None) -> str:
    """A byte count in B, KiB or MiB."""
    if value is None:
        return "—"
    if value < 1024:
        return f"{value} B"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KiB"
    return f"{value / 1024 / 1024:.1f} MiB"


def sparkline(values: list[int], width: int = 120, height: int = 28) -> str:
    """An inline SVG polyline path (``points``) for ``values``."""
    if not values:
        return ""
    top = max(values) or 1
    step = width / max(1, len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{height - (v / top) * (height - 2) - 1:.1f}" for i, v in enumerate(values)
    )


#: Template filters.
FILTERS = {"ago": ago, "when": when, "size": size, "sparkline": sparkline}
