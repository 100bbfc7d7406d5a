"""The transactional outbox: a job row and its message, written together.

:func:`enqueue` inserts the job (``pending``) with the message it must send,
in the caller's transaction: if the transaction rolls back, the job and its
message vanish together. After the commit, :func:`dispatch` sends the
messages and marks the jobs ``queued``. Whatever could not be sent (Redis
down, the process died between commit and send) stays ``pending``, and
:func:`relay` sends it later.

Both lock the rows they send before sending, ``FOR NO KEY UPDATE SKIP
LOCKED``, and mark them sent in the same transaction: a row another sender
holds is that sender's to send, so a dispatch and any number of relays
never send the same row, and neither ever waits for the other. A dispatch
locks in id order, a bounded slice per transaction, as the worker's claim
and outcome rounds lock theirs (a claim can meet a row whose message was
just sent): rows locked one by one in another order, as a dispatch once
did, deadlocked with the relay and the claim rounds. A message sent twice
anyway (a crash after the send, before the mark) is harmless: the claim in
:mod:`folio_shared.jobs.store` lets one delivery run and skips the other.

The Dramatiq message carries the job id in its options; its own message id
is fresh at every send (a re-send must never collide with a stale copy).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import dramatiq
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from folio_shared.db.models import Job
from folio_shared.jobs import rows
from folio_shared.jobs.send import AsyncSender
from folio_shared.logging import get_logger
from folio_shared.messages import (
    TAG_FIELD,
    Message,
    Priority,
    Queue,
    check_queue_name,
    physical_queue_name,
    route,
)

log = get_logger(__name__)

#: ``session.info`` key listing the jobs enqueued in that session.
OUTBOX_KEY = "folio_outbox"


def envelope(
    msg: Message, *, priority: Priority | None = None, queue: Queue | None = None
) -> dict[str, Any]:
    """What the outbox stores for ``msg``: actor, physical queue, payload.

    ``queue`` overrides the message type's queue (e.g. ``Queue.DOCUMENTS_LARGE``).
    """
    r = route(msg, priority=priority, queue=queue)
    return {"actor": r.actor_name, "queue": r.queue_name, "payload": r.payload, "options": {}}


def kind_envelope(
    kind: str, version: int, queue: str, payload: dict[str, Any], *, priority: Priority
) -> dict[str, Any]:
    """What the outbox stores for a job of a declared kind (``audio.analyze``).

    The actor is the kind's name; the payload is tagged ``<kind>.v<version>``
    in its ``type`` field, as Folio's own messages are, so a worker knows
    which major version of the payload it received. ``queue`` is the kind's
    logical queue (checked with :func:`~folio_shared.messages.check_queue_name`).
    """
    check_queue_name(queue)
    tagged = {**payload, TAG_FIELD: f"{kind}.v{version}"}
    return {
        "actor": kind,
        "queue": physical_queue_name(queue, priority),
        "payload": tagged,
        "options": {},
    }


def to_dramatiq(
    job_id: uuid.UUID,
    env: dict[str, Any],
    *,
    continuation: bool = False,
    message_id: str | None = None,
) -> dramatiq.Message[Any]:
    """The Dramatiq message for one send of ``job_id`` (``message_id``:
    the id it is recorded under already; default a fresh one)."""
    options = {**env.get("options", {}), "job_id": str(job_id)}
    if continuation:
        options["continuation"] = True
    given: dict[str, Any] = {} if message_id is None else {"message_id": message_id}
    return dramatiq.Message(
        queue_name=env["queue"],
        actor_name=env["actor"],
        args=(env["payload"],),
        kwargs={},
        options=options,
        **given,
    )


def _job_id_of(msg: Message) -> uuid.UUID:
    value = getattr(msg, "job_id", None)
    return uuid.UUID(value) if value else uuid.uuid4()


async def enqueue(
    session: AsyncSession,
    msg: Message,
    *,
    tenant_id: uuid.UUID | None = None,
    document_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
    priority: Priority | None = None,
    max_retries: int = 3,
    eta: datetime | None = None,
    queue: Queue | None = None,
) -> Job:
    """Add a ``pending`` job for ``msg`` to the session's transaction.

    The job id is the message's ``job_id`` when it has one. ``queue``
    overrides the message type's logical queue (default: the type's own).
    After the commit, call :func:`dispatch` with :func:`pending_ids` of the
    session.
    """
    job = rows.new_job(
        envelope(msg, priority=priority, queue=queue),
        job_id=_job_id_of(msg),
        tenant_id=tenant_id,
        document_id=document_id,
        parent_id=parent_id,
        priority=(priority or route(msg).priority).value,
        max_retries=max_retries,
        eta=eta,
    )
    session.add(job)
    session.add(rows.pending_event(job.id))
    session.info.setdefault(OUTBOX_KEY, []).append(job.id)
    return job


def enqueue_envelope(
    session: AsyncSession,
    env: dict[str, Any],
    *,
    job_id: uuid.UUID | None = None,
    tenant_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
    priority: Priority = Priority.NORMAL,
    max_retries: int = 3,
    eta: datetime | None = None,
    meta: dict[str, Any] | None = None,
    batch_id: uuid.UUID | None = None,
) -> Job:
    """Add a ``pending`` job sending the envelope ``env`` (e.g. a
    :func:`kind_envelope`) to the session's transaction; as :func:`enqueue`,
    dispatch it after the commit."""
    job = rows.new_job(
        env,
        job_id=job_id or uuid.uuid4(),
        tenant_id=tenant_id,
        document_id=None,
        parent_id=parent_id,
        priority=priority.value,
        max_retries=max_retries,
        eta=eta,
        meta=meta,
        batch_id=batch_id,
    )
    session.add(job)
    session.add(rows.pending_event(job.id))
    session.info.setdefault(OUTBOX_KEY, []).append(job.id)
    return job


def pending_ids(session: AsyncSession) -> list[uuid.UUID]:
    """The jobs enqueued in ``session`` (and forget them)."""
    ids: list[uuid.UUID] = session.info.pop(OUTBOX_KEY, [])
    return ids


def _send(
    broker: dramatiq.Broker, job_id: uuid.UUID, env: dict[str, Any], delay_ms: int | None
) -> str:
    message = to_dramatiq(job_id, env)
    if message.queue_name not in broker.get_declared_queues():
        broker.declare_queue(message.queue_name)
    broker.enqueue(message, delay=delay_ms)
    return message.message_id


_MARK_SENT = sa.text(
    """
    WITH t AS (
      UPDATE jobs SET status = CASE WHEN status = 'pending' THEN 'queued' ELSE status END,
        sent_at = now(), queued_at = coalesce(queued_at, now()),
        message_id = CAST(:message_id AS text), updated_at = now()
      WHERE id = :id AND status IN ('pending', 'queued')
      RETURNING id, status
    ), e AS (
      INSERT INTO job_events (job_id, kind, status, data)
      SELECT id, 'state', 'queued', jsonb_build_object('message_id', CAST(:message_id AS text))
      FROM t WHERE status = 'queued'
    )
    SELECT id FROM t
    """
)


async def _send_row(broker: dramatiq.Broker, sender: AsyncSender | None, row: Any) -> str:
    """Send the job of ``row`` (id, message, eta, now) with ``sender``, or
    with ``broker.enqueue`` (blocking) when there is none."""
    delay_ms = _delay_ms(row.eta, row.now)
    if sender is None:
        return _send(broker, row.id, row.message, delay_ms)
    sent = await sender.send(to_dramatiq(row.id, row.message), delay_ms=delay_ms)
    return sent.message_id


def _delay_ms(eta: datetime | None, now: datetime) -> int | None:
    if eta is None:
        return None
    ms = int((eta - now).total_seconds() * 1000)
    return ms if ms > 0 else None


#: Jobs a dispatch sends per transaction: their rows stay locked (a worker's
#: claim of one of them waits) until every message of the slice is sent.
DISPATCH_SLICE = 200

_LOCK_DISPATCHED = sa.text(
    "SELECT id, message, eta, now() AS now FROM jobs"
    " WHERE id = ANY(:ids) AND status = 'pending'"
    " ORDER BY id FOR NO KEY UPDATE SKIP LOCKED"
)
_LOCK_RELAYED = sa.text(
    "SELECT id, message, eta, now() AS now FROM jobs"
    " WHERE status = 'pending' AND sent_at IS NULL"
    " AND created_at < now() - make_interval(secs => CAST(:age_s AS double precision))"
    " ORDER BY created_at LIMIT :batch FOR NO KEY UPDATE SKIP LOCKED"
)


async def _send_locked(
    conn: AsyncConnection,
    broker: dramatiq.Broker,
    sender: AsyncSender | None,
    rows: Sequence[Any],
    failure: str,
) -> tuple[int, bool]:
    """Send and mark the locked ``rows``; how many went, and whether a send
    failed (the broker is down: the rest stay ``pending``)."""
    sent = 0
    for row in rows:
        try:
            message_id = await _send_row(broker, sender, row)
        except Exception as e:
            log.warning(failure, job_id=str(row.id), error=repr(e))
            return sent, True
        await conn.execute(_MARK_SENT, {"id": row.id, "message_id": message_id})
        sent += 1
    return sent, False


async def dispatch(
    conn: AsyncConnection,
    broker: dramatiq.Broker,
    job_ids: Sequence[uuid.UUID],
    *,
    sender: AsyncSender | None = None,
) -> int:
    """Send the messages of committed ``pending`` jobs; returns how many went.

    A send that fails (broker unreachable) leaves its job ``pending`` for the
    relay; it is logged, never raised: the caller's work is already safe.
    A job a relay holds at that moment is left to it (see the module
    docstring). Commits every :data:`DISPATCH_SLICE` jobs.
    ``sender``: send with it instead of ``broker.enqueue``, whose blocking
    round trip stalls an event loop that serves other work (the API's).
    """
    ids = sorted(set(job_ids))
    sent = 0
    for start in range(0, len(ids), DISPATCH_SLICE):
        chunk = ids[start : start + DISPATCH_SLICE]
        rows = (await conn.execute(_LOCK_DISPATCHED, {"ids": chunk})).all()
        done, failed = await _send_locked(
            conn, broker, sender, rows, "outbox send failed; the relay will retry"
        )
        await conn.commit()
        sent += done
        if failed:
            break
    return sent


async def relay(
    conn: AsyncConnection,
    broker: dramatiq.Broker,
    *,
    min_age_ms: int = 2_000,
    batch: int = 500,
    sender: AsyncSender | None = None,
) -> int:
    """Send pending jobs older than ``min_age_ms``; returns how many went.

    One transaction: rows locked (``SKIP LOCKED``: a job a dispatch or
    another relay holds is theirs), sent, marked. Stops at the first failed
    send (the broker is down: try again later). ``sender``: as for
    :func:`dispatch`.
    """
    params = {"age_s": min_age_ms / 1000, "batch": batch}
    rows = (await conn.execute(_LOCK_RELAYED, params)).all()
    sent, _ = await _send_locked(conn, broker, sender, rows, "outbox relay could not send")
    await conn.commit()
    if sent:
        log.info("outbox relay sent pending jobs", count=sent)
    return sent


def resend(
    broker: dramatiq.Broker, job_id: uuid.UUID, env: dict[str, Any], *, continuation: bool
) -> str:
    """Send a job's message again (reconciler, re-drive); returns its id."""
    message = to_dramatiq(job_id, env, continuation=continuation)
    if message.queue_name not in broker.get_declared_queues():
        broker.declare_queue(message.queue_name)
    broker.enqueue(message)
    return message.message_id
