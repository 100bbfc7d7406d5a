"""What a tenant may submit: which job kinds, up to which priority.

A tenant's row says it (``tenants.allowed_kinds``: ``NULL`` is every kind;
``tenants.max_priority``: ``NULL`` is :data:`DEFAULT_MAX_PRIORITY`,
``high``). A request above the limit is **refused**, never lowered: 403
``priority_not_allowed`` (with ``max_priority`` in the body) or 403
``kind_not_allowed``. Operator keys have no limit.

The rows are read through a short per-process cache (:class:`TenantLimits`,
30 s like the key cache): a changed limit takes effect within that time.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio_shared.db.models import Tenant
from folio_shared.errors import KindNotAllowed, PriorityNotAllowed
from folio_shared.messages import Priority

#: A tenant's highest priority when its row sets none: ``critical`` is for
#: operators and the tenants allowed it.
DEFAULT_MAX_PRIORITY = Priority.HIGH


@dataclass(frozen=True, slots=True)
class Limits:
    """One tenant's limits (``allowed_kinds`` ``None``: every kind)."""

    allowed_kinds: frozenset[str] | None = None
    max_priority: Priority = DEFAULT_MAX_PRIORITY

    def check_priority(self, priority: Priority) -> None:
        """Refuse ``priority`` when it is above :attr:`max_priority`."""
        if priority.rank < self.max_priority.rank:
            raise PriorityNotAllowed(
                f"priority {priority.value!r} is above this tenant's maximum"
                f" {self.max_priority.value!r}",
                max_priority=self.max_priority.value,
            )

    def check_kind(self, kind: str) -> None:
        """Refuse a job kind the tenant may not submit."""
        if self.allowed_kinds is not None and kind not in self.allowed_kinds:
            raise KindNotAllowed(f"this tenant may not submit jobs of kind {kind!r}", kind=kind)


#: The limits of an operator key: none.
UNLIMITED = Limits(allowed_kinds=None, max_priority=Priority.CRITICAL)


@dataclass
class TenantLimits:
    """Tenants' limits, each kept ``ttl_s`` seconds (default 30) in this process."""

    ttl_s: float = 30.0
    _entries: dict[uuid.UUID, tuple[Limits, float]] = field(default_factory=dict)

    async def of(
        self, sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID | None
    ) -> Limits:
        """The limits of ``tenant_id`` (``None``, an operator: :data:`UNLIMITED`)."""
        if tenant_id is None:
            return UNLIMITED
        now = time.monotonic()
        hit = self._entries.get(tenant_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with sessions() as session:
            row = (
                await session.execute(
                    sa.select(Tenant.allowed_kinds, Tenant.max_priority).where(
                        Tenant.id == tenant_id
                    )
                )
            ).first()
        limits = Limits()
        if row is not None:
            limits = Limits(
                allowed_kinds=None if row.allowed_kinds is None else frozenset(row.allowed_kinds),
                max_priority=(
                    Priority(row.max_priority) if row.max_priority else DEFAULT_MAX_PRIORITY
                ),
            )
        self._entries[tenant_id] = (limits, now + self.ttl_s)
        return limits

    def clear(self) -> None:
        """Forget every tenant's limits (tests, or after changing them)."""
        self._entries.clear()
