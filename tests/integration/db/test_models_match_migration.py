"""The ORM models and the hand-written migration describe the same schema."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Base

pytestmark = pytest.mark.integration


def _diff(connection: sa.Connection, metadata: sa.MetaData) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


# Alembic cannot compare a generated column's expression (it warns so);
# test_generated_columns_and_storage_parameters_match compares them.
_NO_COMPUTED_COMPARISON = pytest.mark.filterwarnings("ignore:Computed default on")


@_NO_COMPUTED_COMPARISON
async def test_autogenerate_finds_no_difference(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff, Base.metadata)
    assert diff == []


@_NO_COMPUTED_COMPARISON
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


async def test_generated_columns_and_storage_parameters_match(engine: AsyncEngine) -> None:
    # What Alembic does not compare: which columns are generated and how,
    # and the tables' storage parameters (fillfactor).
    async with engine.connect() as conn:
        generated = set(
            (
                await conn.execute(
                    sa.text(
                        "SELECT c.relname || '.' || a.attname FROM pg_attribute a"
                        " JOIN pg_class c ON c.oid = a.attrelid"
                        " WHERE a.attgenerated = 's' AND c.relnamespace = 'public'::regnamespace"
                    )
                )
            ).scalars()
        )
        options = {
            r.relname: sorted(r.reloptions)
            for r in await conn.execute(
                sa.text(
                    "SELECT relname, reloptions FROM pg_class WHERE relkind = 'r'"
                    " AND relnamespace = 'public'::regnamespace AND reloptions IS NOT NULL"
                )
            )
        }
    computed = {
        f"{t.name}.{c.name}": c.computed
        for t in Base.metadata.tables.values()
        for c in t.columns
        if c.computed is not None
    }
    assert set(computed) == generated == {"chunks.tsv", "documents.dedupe_sha256"}
    model_options = {
        t.name: sorted(f"{k}={v}" for k, v in t.dialect_options["postgresql"]["with"].items())
        for t in Base.metadata.tables.values()
        if t.dialect_options["postgresql"]["with"]
    }
    assert model_options == options == {"documents": ["fillfactor=80"]}

    # the expression PostgreSQL stores gives the model's value in every status
    model_sql = computed["documents.dedupe_sha256"].sqltext
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            await conn.execute(
                sa.text(
                    "INSERT INTO tenants (id, name) VALUES"
                    " ('00000000-0000-0000-0000-0000000000e1', 'generated')"
                )
            )
            for n, status in enumerate(s.value for s in DocumentStatus):
                await conn.execute(
                    sa.text(
                        "INSERT INTO documents (tenant_id, filename, storage_key, status, sha256)"
                        " VALUES ('00000000-0000-0000-0000-0000000000e1', 'g', :key, :status,"
                        " :sha)"
                    ),
                    {"key": f"generated-{n}", "status": status, "sha": f"{n}" * 64},
                )
            differ = await conn.scalar(
                sa.text(
                    "SELECT count(*) FROM documents WHERE tenant_id ="  # noqa: S608 - the model's expression
                    " '00000000-0000-0000-0000-0000000000e1'"
                    f" AND dedupe_sha256 IS DISTINCT FROM ({model_sql})"
                )
            )
            held = await conn.scalar(
                sa.text(
                    "SELECT count(dedupe_sha256) FROM documents WHERE tenant_id ="
                    " '00000000-0000-0000-0000-0000000000e1'"
                )
            )
        finally:
            await transaction.rollback()
    assert differ == 0
    assert held == len(DocumentStatus) - 2  # all but awaiting_upload and deleted
