"""Parent and child jobs, with a completion step run exactly once.

A running job hands work to child jobs (one per page, say) with
:func:`fan_out` and returns :data:`WAITING`. It then stays ``running``
without a lease (no worker holds it; its children drive it). Each child that
reaches a final state counts itself done on the parent *in the same
transaction* as its own final state — which is fenced, so a redelivered or
retried child counts once. The child that completes the set, or the parent
handing over after its children were already done, marks
``completion_sent_at`` (a conditional update: exactly one wins) and sends
the completion message as a *continuation* of the parent job. The
continuation's success finishes the parent.

Both transitions lock the parent row, so they serialise under PostgreSQL's
READ COMMITTED: no interleaving can send the completion twice or never.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from folio_shared.db.models import Job
from folio_shared.jobs import outbox
from folio_shared.messages import Message, Priority, Queue


class _Waiting:
    """Returned by an actor that handed its work to children."""

    def __repr__(self) -> str:
        return "WAITING"


#: Return this from an actor after :func:`fan_out`.
WAITING: Final = _Waiting()


def child_job_id(parent_id: uuid.UUID, index: int) -> uuid.UUID:
    """Deterministic id of a parent's ``index``-th child."""
    return uuid.uuid5(parent_id, f"child-{index}")


async def add_children(
    session: AsyncSession,
    parent_id: uuid.UUID,
    children: Sequence[Message],
    *,
    then: Message,
    tenant_id: uuid.UUID | None,
    document_id: uuid.UUID | None,
    priority: Priority | None = None,
    max_retries: int = 3,
    then_queue: Queue | None = None,
    then_priority: Priority | None = None,
) -> bool:
    """Create the child jobs and the completion step of ``parent_id`` in the
    session's transaction; ``False`` when they already exist (a retried
    parent attempt must not fan out twice). ``then_queue`` overrides the
    completion message type's queue (a large document's final step goes to
    ``Queue.DOCUMENTS_LARGE``); ``then_priority`` the completion step's
    priority (default: ``priority``)."""
    parent = await _parent_without_children(session, parent_id)
    if parent is None:
        return False
    for child in children:
        await outbox.enqueue(
            session,
            child,
            tenant_id=tenant_id,
            document_id=document_id,
            parent_id=parent_id,
            priority=priority,
            max_retries=max_retries,
        )
    last = then_priority if then_priority is not None else priority
    _hand_over(parent, len(children), outbox.envelope(then, priority=last, queue=then_queue))
    return True


async def add_child_envelopes(
    session: AsyncSession,
    parent_id: uuid.UUID,
    children: Sequence[dict[str, Any]],
    *,
    then: dict[str, Any],
    tenant_id: uuid.UUID | None,
    priority: Priority = Priority.NORMAL,
    max_retries: int = 3,
) -> bool:
    """:func:`add_children` for outbox envelopes (job kinds'
    :func:`~folio_shared.jobs.outbox.kind_envelope`): child ``i`` gets the
    id :func:`child_job_id` ``(parent_id, i)``; ``then`` is the completion
    step's envelope. ``False`` when the children already exist."""
    parent = await _parent_without_children(session, parent_id)
    if parent is None:
        return False
    for index, env in enumerate(children):
        outbox.enqueue_envelope(
            session,
            env,
            job_id=child_job_id(parent_id, index),
            tenant_id=tenant_id,
            parent_id=parent_id,
            priority=priority,
            max_retries=max_retries,
        )
    _hand_over(parent, len(children), then)
    return True


async def _parent_without_children(session: AsyncSession, parent_id: uuid.UUID) -> Job | None:
    """The parent row, locked; ``None`` when it already has its children."""
    parent = await session.get(Job, parent_id, with_for_update=True)
    if parent is None:
        raise LookupError(f"no job {parent_id}")
    return None if parent.on_complete is not None else parent


def _hand_over(parent: Job, count: int, then: dict[str, Any]) -> None:
    parent.children_total = count
    parent.children_done = 0
    parent.units_total = count
    parent.units_done = 0
    parent.on_complete = then


_CHILD_DONE = sa.text(
    """
    UPDATE jobs SET children_done = children_done + 1, units_done = children_done + 1,
      progress = LEAST(99, ((children_done + 1) * 100) / GREATEST(children_total, 1)),
      updated_at = now()
    WHERE id = :parent
    RETURNING children_done, children_total, on_complete, completion_sent_at,
      (status = 'running' AND worker IS NULL AND lease_expires_at IS NULL) AS handed_over
    """
)

_TAKE_COMPLETION = sa.text(
    """
    UPDATE jobs SET completion_sent_at = now(), updated_at = now()
    WHERE id = :parent AND completion_sent_at IS NULL AND on_complete IS NOT NULL
      AND children_done >= children_total AND status = 'running'
      AND worker IS NULL AND lease_expires_at IS NULL
    RETURNING on_complete
    """
)


@dataclass(frozen=True)
class ChildDone:
    """A child counted on its parent: ``done`` of ``total`` children are
    finished; ``completion`` is the message to send (to one caller, once)."""

    done: int
    total: int
    completion: dict[str, Any] | None


async def child_finished(conn: AsyncConnection, parent_id: uuid.UUID) -> ChildDone:
    """Count a finished child on its parent (same transaction as the child's
    final state)."""
    row = (await conn.execute(_CHILD_DONE, {"parent": parent_id})).first()
    if row is None:
        return ChildDone(0, 0, None)
    completion = None
    if row.handed_over and row.children_done >= row.children_total:
        completion = await take_completion(conn, parent_id)
    return ChildDone(row.children_done, row.children_total, completion)


async def take_completion(conn: AsyncConnection, parent_id: uuid.UUID) -> dict[str, Any] | None:
    """Claim the right to send the parent's completion step (exactly one
    caller ever gets it)."""
    env = await conn.scalar(_TAKE_COMPLETION, {"parent": parent_id})
    return dict(env) if env is not None else None
