"""The ORM models and the hand-written migration describe the same schema."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.models import Base

pytestmark = pytest.mark.integration


def _diff(connection: sa.Connection, metadata: sa.MetaData) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


async def test_autogenerate_finds_no_difference(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff, Base.metadata)
    assert diff == []


async def test_the_comparison_does_notice_a_difference(engine: AsyncEngine) -> None:
    # Guard against a comparison that would pass whatever the models say.
    changed = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["tenants"].append_column(sa.Column("extra", sa.Text()))
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff, changed)
    assert [d[0] for d in diff] == ["add_column"]


async def test_index_methods_and_check_constraints_match(engine: AsyncEngine) -> None:
    # Alembic does not compare index access methods, operator classes or
    # CHECK constraints: compare them from the catalogue.
    async with engine.connect() as conn:
        indexdefs = {
            r.indexname: r.indexdef
            for r in await conn.execute(
                sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
            )
        }
        checks = {
            r.conname
            for r in await conn.execute(
                sa.text(
                    "SELECT conname FROM pg_constraint "
                    "WHERE contype = 'c' AND connamespace = 'public'::regnamespace"
                )
            )
        }
    model_indexes = {i.name: i for t in Base.metadata.tables.values() for i in t.indexes}
    for name, index in model_indexes.items():
        assert name in indexdefs, name
        using = index.dialect_options["postgresql"]["using"] or "btree"
        assert f"USING {using} " in indexdefs[name], (name, indexdefs[name])
        where = index.dialect_options["postgresql"]["where"]
        assert ("WHERE" in indexdefs[name]) == (where is not None), name
    assert "vector_cosine_ops" in indexdefs["ix_chunks_embedding_hnsw"]

    model_checks = {
        str(c.name)
        for t in Base.metadata.tables.values()
        for c in t.constraints
        if isinstance(c, sa.CheckConstraint)
    }
    assert model_checks == checks
