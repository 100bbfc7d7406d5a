"""The declarative base of Folio's models and the column helpers they share."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every Folio model."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: sa.DateTime(timezone=True),
        dict[str, Any]: JSONB,
        uuid.UUID: sa.Uuid,
    }
    __mapper_args__ = {"eager_defaults": True}


def enum_type(enum_cls: type[StrEnum]) -> sa.Enum:
    """A StrEnum stored as ``VARCHAR(32)``; the CHECK constraint is declared
    separately (:func:`check_in`) with a stable name."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


def check_in(column: str, values: Any, name: str) -> sa.CheckConstraint:
    """``CHECK (column IN (values...))`` named ``name``."""
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name)


def uuid_pk() -> Mapped[uuid.UUID]:
    """A UUID primary key, made by Python or, for raw inserts, the server."""
    return mapped_column(
        primary_key=True, default=uuid.uuid4, server_default=sa.text("gen_random_uuid()")
    )


def created_at_column() -> Mapped[datetime]:
    """The row's creation time, set by the server."""
    return mapped_column(server_default=sa.func.now())


def updated_at_column() -> Mapped[datetime]:
    """The row's last change, set by the server."""
    return mapped_column(server_default=sa.func.now(), onupdate=sa.func.now())


def tenant_fk(*, nullable: bool = False) -> Mapped[Any]:
    """The owning tenant; deleting it deletes the row."""
    return mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=nullable)
