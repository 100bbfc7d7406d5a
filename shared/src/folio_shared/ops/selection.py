"""Which dead jobs a re-drive or a purge touches: one rule, wherever it is asked.

The ops API (``POST /v1/ops/dead/redrive`` and ``/v1/ops/dead/purge``) and
the ``folio dead redrive|purge`` commands both call :func:`select_dead`, so
the same request means the same thing on either surface:

- a request chooses dead jobs **exactly one way**: job ids, a filter that
  narrows (any of queue, actor, error type, tenant, since, until), or
  "all";
- ``limit`` alone does not narrow; a filter or "all" touches at most
  ``limit`` jobs (1 to :data:`MAX_SELECTION`, default 100);
- no way, or two ways at once (ids *and* a filter, a filter *and* "all"),
  is refused with :class:`~folio_shared.errors.InvalidInput`: nothing is
  ever chosen by accident, and nothing the caller said is ignored;
- at most :data:`MAX_SELECTION` job ids at once.

:func:`dead_filter` builds the filter both surfaces pass: naive times are
UTC.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from folio_shared.errors import InvalidInput
from folio_shared.ops.dead import DeadFilter

#: Most dead jobs one list, re-drive or purge touches (and most job ids).
MAX_SELECTION = 10_000

#: What a refused selection says: how to choose.
HOW_TO_CHOOSE = (
    "choose jobs one way: job ids, a filter that narrows "
    "(queue, actor, error type, tenant, since, until), or all"
)


@dataclass(frozen=True)
class Selection:
    """The dead jobs chosen: ``job_ids`` (then ``flt`` is ``None``), or
    those matching ``flt`` (then ``job_ids`` is ``None``) — the two keyword
    arguments of :func:`~folio_shared.ops.dead.redrive` and
    :func:`~folio_shared.ops.dead.purge`."""

    job_ids: list[uuid.UUID] | None
    flt: DeadFilter | None


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def dead_filter(
    queue: str | None = None,
    actor: str | None = None,
    error_type: str | None = None,
    tenant_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> DeadFilter:
    """A :class:`~folio_shared.ops.dead.DeadFilter`; naive times are UTC."""
    return DeadFilter(
        queue=queue,
        actor=actor,
        error_type=error_type,
        tenant_id=tenant_id,
        since=_utc(since),
        until=_utc(until),
        limit=limit,
    )


def narrows(flt: DeadFilter) -> bool:
    """Whether ``flt`` sets any field other than ``limit``."""
    fields = (flt.queue, flt.actor, flt.error_type, flt.tenant_id, flt.since, flt.until)
    return any(v is not None for v in fields)


def select_dead(
    job_ids: Sequence[uuid.UUID] | None, flt: DeadFilter | None, everything: bool
) -> Selection:
    """The dead jobs a request chooses, by the rule of this module.

    ``job_ids``: explicit jobs (``None`` or empty: none given); ``flt``: the
    request's filter (``None``: none given); ``everything``: the request
    said "all". Raises :class:`~folio_shared.errors.InvalidInput` unless
    exactly one way is used, or past :data:`MAX_SELECTION`.
    """
    chosen = flt or DeadFilter()
    if not 1 <= chosen.limit <= MAX_SELECTION:
        raise InvalidInput(f"limit must be 1 to {MAX_SELECTION}", limit=chosen.limit)
    if sum((bool(job_ids), narrows(chosen), everything)) != 1:
        raise InvalidInput(HOW_TO_CHOOSE)
    if job_ids:
        if len(job_ids) > MAX_SELECTION:
            raise InvalidInput(f"at most {MAX_SELECTION} job ids at once", count=len(job_ids))
        return Selection(job_ids=list(job_ids), flt=None)
    return Selection(job_ids=None, flt=chosen)
