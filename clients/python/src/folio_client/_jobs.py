"""The plans of the job calls: jobs of every kind, waiting for them,
batches, job kinds and statistics (run by both clients; see
:mod:`folio_client._steps`)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from folio_client._core import When, clean_params, iso, job_body, job_params
from folio_client._steps import Call, Follow, Pages, Plan, Sleep, paged
from folio_client.errors import FolioApiError, JobTimeout
from folio_client.models import Job
from folio_client.models_tenant import ApiKey, Batch, JobStats, JobType, KeyCreated


def submit(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    priority: str | None = None,
    delay_ms: int | None = None,
    run_at: When | None = None,
    metadata: dict[str, str] | None = None,
    max_retries: int | None = None,
) -> Plan[Job]:
    """Run a job of a declared kind (``POST /v1/jobs``), now, after
    ``delay_ms`` or at ``run_at``."""
    body = job_body(
        kind,
        payload,
        priority=priority,
        delay_ms=delay_ms,
        run_at=run_at,
        metadata=metadata,
        max_retries=max_retries,
    )
    return Job.from_json((yield Call("POST", "/v1/jobs", json=body)))


def job(job_id: str) -> Plan[Job]:
    """One job, with its result, attempts and timeline (``GET /v1/jobs/{id}``)."""
    return Job.from_json((yield Call("GET", f"/v1/jobs/{job_id}")))


def jobs(
    *,
    limit: int = 50,
    status: str | None = None,
    kind: str | None = None,
    since: When | None = None,
    batch_id: str | None = None,
    document_id: str | None = None,
    top_level: bool | None = None,
    created_after: When | None = None,
    created_before: When | None = None,
    metadata: dict[str, str] | None = None,
) -> Pages:
    """Every job matching the filters (``kind``: the job kind), page by page."""
    filters = job_params(
        status=status,
        kind=kind,
        since=since,
        batch_id=batch_id,
        document_id=document_id,
        top_level=top_level,
        created_after=created_after,
        created_before=created_before,
        metadata=metadata,
    )
    return paged(
        lambda cursor: Call(
            "GET", "/v1/jobs", params=clean_params({**filters, "limit": limit, "cursor": cursor})
        ),
        Job.from_json,
    )


def cancel(job_id: str) -> Plan[Job]:
    """Cancel a job (and its children); a running one stops at its next progress."""
    return Job.from_json((yield Call("POST", f"/v1/jobs/{job_id}/cancel")))


def retry(job_id: str) -> Plan[Job]:
    """Run a failed, dead or cancelled job again."""
    return Job.from_json((yield Call("POST", f"/v1/jobs/{job_id}/retry")))


def wait_for_job(job_id: str, *, timeout_s: float = 600.0, poll_s: float = 1.0) -> Plan[Job]:
    """Wait until the job finishes: follows its events (reconnecting
    with ``Last-Event-ID`` when the server ends a stream), and polls the
    job if the stream fails (proxy, network). A terminal event counts
    only once the job says it is finished (a retried job runs again)."""
    deadline = time.monotonic() + timeout_s
    last_id: str | None = None
    try:
        while (left := deadline - time.monotonic()) > 0:
            event = yield Follow(job_id, last_id, left)
            last_id = (event.id if event else None) or last_id
            if event is not None and event.terminal:
                found = yield from job(job_id)
                if found.finished:
                    return found
            yield Sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
    except (httpx.HTTPError, TimeoutError):
        pass  # the stream failed: poll
    except FolioApiError as e:
        if e.status < 500:
            raise
    while time.monotonic() < deadline:
        found = yield from job(job_id)
        if found.finished:
            return found
        yield Sleep(poll_s)
    raise JobTimeout(f"job {job_id} did not finish within {timeout_s} s")


def create_batch(
    jobs: list[dict[str, Any]],
    *,
    on_complete: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> Plan[Batch]:
    """Run ``jobs`` (each ``{"type", "payload", ...}``) as one batch, with
    an optional completion job (``POST /v1/batches``); the batch, with
    its members' ``jobs``."""
    body = clean_params({"jobs": jobs, "on_complete": on_complete, "metadata": metadata})
    return Batch.from_json((yield Call("POST", "/v1/batches", json=body)))


def batch(batch_id: str) -> Plan[Batch]:
    """A batch's state, counts and progress (``GET /v1/batches/{id}``)."""
    return Batch.from_json((yield Call("GET", f"/v1/batches/{batch_id}")))


def job_types() -> Plan[list[JobType]]:
    """The job kinds the caller may submit (``GET /v1/job-types``)."""
    return [JobType.from_json(k) for k in (yield Call("GET", "/v1/job-types"))["items"]]


def job_stats(*, kind: str | None = None, since: When | None = None) -> Plan[JobStats]:
    """Per-kind figures (``GET /v1/jobs/stats``): counts, throughput,
    queue wait and run time p50/p95, failure rate (``kinds``)."""
    params = clean_params({"type": kind, "since": iso(since)})
    return JobStats.from_json((yield Call("GET", "/v1/jobs/stats", params=params)))


def create_key(name: str) -> Plan[KeyCreated]:
    """A new API key for the tenant (``POST /v1/keys``): ``key`` (the
    secret, shown this once) and ``api_key`` (its row)."""
    return KeyCreated.from_json((yield Call("POST", "/v1/keys", json={"name": name})))


def keys() -> Plan[list[ApiKey]]:
    """The tenant's API keys, revoked ones included (``GET /v1/keys``)."""
    return [ApiKey.from_json(k) for k in (yield Call("GET", "/v1/keys"))["items"]]


def revoke_key(key_id: str) -> Plan[None]:
    """Revoke one of the tenant's keys (``DELETE /v1/keys/{id}``); it
    stops working within the API's key cache lifetime (30 s by default)."""
    yield Call("DELETE", f"/v1/keys/{key_id}")
