"""Wire types of the key routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec


class KeyCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new key's ``name`` (1 to 100 characters: what it is for)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class KeyOut(msgspec.Struct, frozen=True, kw_only=True):
    """An API key as its tenant sees it: ``prefix`` is the public part
    (``folio_<prefix>_…``); ``revoked_at`` set: it no longer authenticates
    (after at most the key cache's 30 s); ``current``: the key of this
    request."""

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    current: bool = False


class KeyCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The new key's row and the key itself (``key``), shown this once."""

    key: str
    api_key: KeyOut


class KeyList(msgspec.Struct, frozen=True, kw_only=True):
    """The tenant's keys, oldest first, revoked ones included."""

    items: list[KeyOut]
