"""``POST /v1/jobs``: a job of a declared kind, checked, written through the outbox.

Checks, in order: the kind exists (else 422 ``unknown_job_kind`` listing the
kinds the caller may submit), the tenant may submit it (403
``kind_not_allowed``), the priority is within the tenant's maximum (403
``priority_not_allowed``; a kind's default priority above it is lowered to
it), the payload matches the kind's JSON schema (422 ``invalid_payload``
naming each field). Then the job row and its message are written in one
transaction and sent after the commit, as document jobs are; a delayed job
keeps its due time in the row (``eta``), so PostgreSQL, not Redis, holds it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from folio_api.domain.auth.limits import Limits
from folio_api.domain.jobs.schemas import JobCreate
from folio_api.domain.kinds import repository as kinds
from folio_api.domain.kinds.validation import PayloadValidators
from folio_api.resources import Resources, writes
from folio_shared.db.models import Job, JobKind
from folio_shared.errors import InvalidInput, UnknownJobKind
from folio_shared.jobs import outbox
from folio_shared.messages import Priority

#: The process's compiled payload validators.
VALIDATORS = PayloadValidators()
#: Retries of a job whose kind declared none.
DEFAULT_MAX_RETRIES = 3


@dataclass(frozen=True, slots=True)
class Planned:
    """A checked job, ready to be written: its outbox envelope and columns."""

    envelope: dict[str, Any]
    priority: Priority
    max_retries: int
    eta: datetime | None
    meta: dict[str, Any] | None


async def limits_of(resources: Resources, tenant_id: uuid.UUID | None) -> Limits:
    assert resources.sessions is not None
    return await resources.limits.of(resources.sessions, tenant_id)


async def plan(
    session: AsyncSession, limits: Limits, ask: JobCreate, *, field: str = ""
) -> Planned:
    """Check ``ask`` for a caller with ``limits``; ``field``: where ``ask``
    sits in the request body (``jobs[3].``), for error messages."""
    kind = await kinds.get_kind(session, ask.type)
    if kind is None:
        known = [k for k in await kinds.kind_names(session) if _allowed(limits, k)]
        raise UnknownJobKind(
            f"body field '{field}type': no job kind {ask.type!r}; known kinds: "
            + (", ".join(known) or "none"),
            known_kinds=known,
        )
    limits.check_kind(kind.name)
    priority = _priority(kind, limits, ask.priority)
    VALIDATORS.check(kind, ask.payload, field=field)
    return Planned(
        envelope=outbox.kind_envelope(
            kind.name, kind.version, kind.queue, ask.payload, priority=priority
        ),
        priority=priority,
        max_retries=(
            ask.max_retries
            if ask.max_retries is not None
            else int(kind.options.get("max_retries", DEFAULT_MAX_RETRIES))
        ),
        eta=_eta(ask, field),
        meta=dict(ask.metadata) if ask.metadata else None,
    )


def write(
    session: AsyncSession,
    planned: Planned,
    tenant_id: uuid.UUID | None,
    *,
    batch_id: uuid.UUID | None = None,
) -> Job:
    """Add the job to the session's transaction (the outbox)."""
    return outbox.enqueue_envelope(
        session,
        planned.envelope,
        tenant_id=tenant_id,
        priority=planned.priority,
        max_retries=planned.max_retries,
        eta=planned.eta,
        meta=planned.meta,
        batch_id=batch_id,
    )


async def submit(resources: Resources, tenant_id: uuid.UUID | None, ask: JobCreate) -> Job:
    """Check, write and send one job; returns it as stored after the send."""
    limits = await limits_of(resources, tenant_id)
    assert resources.jobs is not None
    async with writes(resources, tenant_id) as session:
        job = write(session, await plan(session, limits, ask), tenant_id)
        await session.commit()
        ids = outbox.pending_ids(session)
    await resources.jobs.dispatch(ids)
    return await resources.jobs.get(job.id)


def _allowed(limits: Limits, kind: str) -> bool:
    return limits.allowed_kinds is None or kind in limits.allowed_kinds


def _priority(kind: JobKind, limits: Limits, asked: Priority | None) -> Priority:
    if asked is not None:
        limits.check_priority(asked)
        return asked
    try:
        default = Priority(str(kind.options.get("priority", Priority.NORMAL.value)))
    except ValueError:
        default = Priority.NORMAL
    # A kind's default above the tenant's maximum is lowered to it: the
    # client did not ask for it.
    return default if default.rank >= limits.max_priority.rank else limits.max_priority


def _eta(ask: JobCreate, field: str) -> datetime | None:
    if ask.delay_ms is not None and ask.run_at is not None:
        raise InvalidInput(f"body fields '{field}delay_ms' and '{field}run_at': give one, not both")
    if ask.delay_ms:
        return datetime.now(UTC) + timedelta(milliseconds=ask.delay_ms)
    if ask.run_at is not None:
        if ask.run_at.tzinfo is None:
            raise InvalidInput(f"body field '{field}run_at': needs a time zone (e.g. 'Z')")
        return ask.run_at
    return None
