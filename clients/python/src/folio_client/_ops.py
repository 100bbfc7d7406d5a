"""The plans of the operator calls (``client.ops``, ``/v1/ops``; an
operator key only): queues, workers, dead letters, pauses, stalled jobs
and the audit log."""

from __future__ import annotations

from typing import Any

from folio_client._core import When, clean_params, iso
from folio_client._steps import Call, Plan
from folio_client.models_ops import (
    AuditEntry,
    DeadJob,
    JobDetail,
    Purged,
    QueuePause,
    QueueState,
    Redriven,
    StalledJob,
    Worker,
)


def queues(*, minutes: int = 5) -> Plan[list[QueueState]]:
    """Every physical queue's depth, age and throughput over ``minutes``."""
    data = yield Call("GET", "/v1/ops/queues", params={"minutes": minutes})
    return [QueueState.from_json(q) for q in data["items"]]


def workers() -> Plan[list[Worker]]:
    """The live worker processes."""
    return [Worker.from_json(w) for w in (yield Call("GET", "/v1/ops/workers"))["items"]]


def _dead_filter(
    queue: str | None,
    actor: str | None,
    error_type: str | None,
    tenant_id: str | None,
    since: When | None,
    until: When | None,
    limit: int | None,
) -> dict[str, Any]:
    return clean_params(
        {
            "queue": queue,
            "actor": actor,
            "error_type": error_type,
            "tenant_id": tenant_id,
            "since": iso(since),
            "until": iso(until),
            "limit": limit,
        }
    )


def dead(
    *,
    queue: str | None = None,
    actor: str | None = None,
    error_type: str | None = None,
    tenant_id: str | None = None,
    since: When | None = None,
    until: When | None = None,
    limit: int = 100,
) -> Plan[list[DeadJob]]:
    """Dead jobs, the most recent death first; every filter narrows
    (``queue``: logical ``ocr`` or physical ``ocr.high``; ``since`` and
    ``until``: time of death)."""
    params = _dead_filter(queue, actor, error_type, tenant_id, since, until, limit)
    return [
        DeadJob.from_json(j) for j in (yield Call("GET", "/v1/ops/dead", params=params))["items"]
    ]


def dead_job(job_id: str) -> Plan[JobDetail]:
    """A job in full: payload, options and every attempt with its traceback."""
    return JobDetail.from_json((yield Call("GET", f"/v1/ops/dead/{job_id}")))


def _selection(job_ids: list[str] | None, everything: bool, flt: dict[str, Any]) -> dict[str, Any]:
    return clean_params({"job_ids": job_ids, "filter": flt or None, "all": everything or None})


def redrive(
    job_ids: list[str] | None = None,
    *,
    all: bool = False,
    options: dict[str, Any] | None = None,
    queue: str | None = None,
    actor: str | None = None,
    error_type: str | None = None,
    tenant_id: str | None = None,
    since: When | None = None,
    until: When | None = None,
    limit: int | None = None,
) -> Plan[Redriven]:
    """Run dead jobs again: by ``job_ids``, by filter, or ``all`` (up to
    ``limit``, 100 by default); ``options``: payload fields to change first
    (e.g. ``{"force_ocr": True}``). Written to the audit log."""
    flt = _dead_filter(queue, actor, error_type, tenant_id, since, until, limit)
    body = {**_selection(job_ids, all, flt), **clean_params({"options": options})}
    return Redriven.from_json((yield Call("POST", "/v1/ops/dead/redrive", json=body)))


def purge(
    job_ids: list[str] | None = None,
    *,
    all: bool = False,
    queue: str | None = None,
    actor: str | None = None,
    error_type: str | None = None,
    tenant_id: str | None = None,
    since: When | None = None,
    until: When | None = None,
    limit: int | None = None,
) -> Plan[Purged]:
    """Delete dead jobs and their dead-letter messages (chosen as in
    :func:`redrive`). Written to the audit log."""
    flt = _dead_filter(queue, actor, error_type, tenant_id, since, until, limit)
    body = _selection(job_ids, all, flt)
    return Purged.from_json((yield Call("POST", "/v1/ops/dead/purge", json=body)))


def pause(queue: str) -> Plan[QueuePause]:
    """Stop workers taking a logical queue's messages (sending still works)."""
    return QueuePause.from_json((yield Call("POST", f"/v1/ops/queues/{queue}/pause")))


def resume(queue: str) -> Plan[QueuePause]:
    """Let workers take a paused queue's messages again."""
    return QueuePause.from_json((yield Call("POST", f"/v1/ops/queues/{queue}/resume")))


def stalled(*, stall_after_ms: int | None = None, limit: int = 100) -> Plan[list[StalledJob]]:
    """Running jobs whose progress has not moved for ``stall_after_ms``
    (the API's default when ``None``), the longest idle first."""
    params = clean_params({"stall_after_ms": stall_after_ms, "limit": limit})
    data = yield Call("GET", "/v1/ops/stalled", params=params)
    return [StalledJob.from_json(j) for j in data["items"]]


def audit(*, action: str | None = None, limit: int = 50) -> Plan[list[AuditEntry]]:
    """The newest audit records (re-drives, purges, pauses, ...), optionally
    only actions starting with ``action`` (``"dead."``)."""
    params = clean_params({"action": action, "limit": limit})
    return [
        AuditEntry.from_json(e)
        for e in (yield Call("GET", "/v1/ops/audit", params=params))["items"]
    ]
