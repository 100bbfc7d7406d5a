"""The pages of a document whose OCR job ended without success."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from folio_shared.db.enums import JobStatus
from folio_shared.db.models import Job
from folio_shared.jobs.public_errors import tenant_reason


async def failed_pages(session: Any, job_id: uuid.UUID) -> dict[int, str]:
    """Pages whose OCR job ended without success: page number → the reason
    as a tenant may read it (:mod:`folio_shared.jobs.public_errors`)."""
    rows = await session.execute(
        sa.select(Job.message, Job.status, Job.cause, Job.error_type, Job.error_message).where(
            Job.parent_id == job_id,
            Job.status.in_([JobStatus.FAILED, JobStatus.DEAD, JobStatus.CANCELLED]),
        )
    )
    return {
        int(m["payload"]["page_no"]): tenant_reason(status, cause, error_type, error_message)
        for m, status, cause, error_type, error_message in sorted(
            rows, key=lambda r: r[0]["payload"]["page_no"]
        )
        if m
    }


def describe_failed(failed: dict[int, str]) -> str:
    shown = [f"page {n}: {reason}" for n, reason in list(failed.items())[:5]]
    more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
    return "OCR failed on " + "; ".join(shown) + more
