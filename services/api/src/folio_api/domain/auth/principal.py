"""Who a request acts as, once its API key is resolved."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from folio_shared.db.enums import ApiKeyKind


@dataclass(frozen=True, slots=True)
class Principal:
    """The resolved API key: ``key_id``, ``kind`` (tenant or operator) and
    ``tenant_id`` (``None`` for an operator key)."""

    key_id: uuid.UUID
    kind: ApiKeyKind
    tenant_id: uuid.UUID | None

    @property
    def is_operator(self) -> bool:
        return self.kind is ApiKeyKind.OPERATOR

    def tenant(self) -> uuid.UUID:
        """The tenant this key acts for (tenant keys only; guards ensure it)."""
        if self.tenant_id is None:
            raise RuntimeError("an operator key has no tenant")
        return self.tenant_id
