"""``GET /v1/jobs/stats``: per job kind, what happened since a time.

Over the jobs created at or after ``since`` (default: the last 24 hours),
per kind (``actor_name``): counts by state; ``finished`` (in a final
state) and ``throughput_per_min`` (finished per minute of the window);
queue wait (``started_at - queued_at``: from the first send to the first
start) and run time (``finished_at - started_at``, of finished jobs that
started) as p50 and p95 in milliseconds (``percentile_cont``); and
``failure_rate``: failed and dead over succeeded, failed and dead
(cancelled jobs count in neither).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import sqlalchemy as sa

from folio_api.resources import Resources

#: The window of a request that gives no ``since``.
DEFAULT_WINDOW = timedelta(hours=24)


class Percentiles(msgspec.Struct, frozen=True, kw_only=True):
    """p50 and p95 in milliseconds (``None``: no job to measure)."""

    p50: float | None
    p95: float | None


class KindStats(msgspec.Struct, frozen=True, kw_only=True):
    """One job kind's figures over the window."""

    type: str
    counts: dict[str, int]
    total: int
    finished: int
    throughput_per_min: float
    queue_wait_ms: Percentiles
    run_time_ms: Percentiles
    failure_rate: float | None


class JobStats(msgspec.Struct, frozen=True, kw_only=True):
    """Per-kind figures for the jobs created in ``[since, until)``."""

    since: datetime
    until: datetime
    kinds: list[KindStats]


_STATS = """
SELECT actor_name AS kind, status, count(*) AS n
FROM jobs WHERE created_at >= :since {scope}
GROUP BY actor_name, status
"""

_TIMES = """
SELECT actor_name AS kind,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - queued_at))
    FILTER (WHERE started_at IS NOT NULL AND queued_at IS NOT NULL) AS wait_p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - queued_at))
    FILTER (WHERE started_at IS NOT NULL AND queued_at IS NOT NULL) AS wait_p95,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))
    FILTER (WHERE finished_at IS NOT NULL AND started_at IS NOT NULL) AS run_p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))
    FILTER (WHERE finished_at IS NOT NULL AND started_at IS NOT NULL) AS run_p95
FROM jobs WHERE created_at >= :since {scope}
GROUP BY actor_name
"""

_FINAL = ("succeeded", "failed", "dead", "cancelled")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) * 1000, 1)


async def job_stats(
    resources: Resources,
    tenant_id: uuid.UUID | None,
    *,
    kind: str | None,
    since: datetime | None,
) -> JobStats:
    """The figures for ``tenant_id`` (``None``: every tenant), one kind or all."""
    now = datetime.now(UTC)
    start = since or now - DEFAULT_WINDOW
    scope = ""
    params: dict[str, object] = {"since": start}
    if tenant_id is not None:
        scope += " AND tenant_id = :tenant"
        params["tenant"] = tenant_id
    if kind is not None:
        scope += " AND actor_name = :kind"
        params["kind"] = kind
    assert resources.sessions is not None
    async with resources.sessions() as session:
        states = (await session.execute(sa.text(_STATS.format(scope=scope)), params)).all()
        times = (await session.execute(sa.text(_TIMES.format(scope=scope)), params)).all()
    counts: dict[str, dict[str, int]] = {}
    for row in states:
        counts.setdefault(row.kind, {})[str(row.status)] = int(row.n)
    minutes = max((now - start).total_seconds() / 60, 1 / 60)
    out = []
    for row in sorted(times, key=lambda r: str(r.kind)):
        c = counts.get(row.kind, {})
        finished = sum(c.get(s, 0) for s in _FINAL)
        judged = c.get("succeeded", 0) + c.get("failed", 0) + c.get("dead", 0)
        out.append(
            KindStats(
                type=row.kind,
                counts=c,
                total=sum(c.values()),
                finished=finished,
                throughput_per_min=round(finished / minutes, 3),
                queue_wait_ms=Percentiles(p50=_ms(row.wait_p50), p95=_ms(row.wait_p95)),
                run_time_ms=Percentiles(p50=_ms(row.run_p50), p95=_ms(row.run_p95)),
                failure_rate=(
                    round((c.get("failed", 0) + c.get("dead", 0)) / judged, 4) if judged else None
                ),
            )
        )
    return JobStats(since=start, until=now, kinds=out)
