"""Migrations go up and down cleanly on an empty database."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy import pool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from folio_shared.db import migrate
from folio_shared.db.engine import async_database_url

pytestmark = pytest.mark.integration

EXPECTED_TABLES = {
    "tenants",
    "api_keys",
    "documents",
    "jobs",
    "job_events",
    "pages",
    "chunks",
    "audit_log",
    "document_fields",
    "job_kinds",
    "job_kind_workers",
    "batches",
    "idempotency_keys",
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_attempts",
    "staged_embeddings",
    "document_centroids",
    "vocabulary_words",
    "vocabulary_sources",
    "tenant_keyword_totals",
}


async def _schema(url: str) -> tuple[set[str], set[str]]:
    """(tables in public, installed extensions) of the database at ``url``."""
    engine = create_async_engine(async_database_url(url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            tables = set(
                (
                    await conn.execute(
                        sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                ).scalars()
            )
            extensions = set(
                (await conn.execute(sa.text("SELECT extname FROM pg_extension"))).scalars()
            )
    finally:
        await engine.dispose()
    return tables, extensions


def test_upgrade_downgrade_upgrade_from_sync_code(empty_database_url: str) -> None:
    # Given an empty database, never migrated
    url = empty_database_url
    assert migrate.current(url) is None

    # When it is migrated to head
    migrate.upgrade(url)

    # Then every table and pgvector exist, at the newest revision
    tables, extensions = asyncio.run(_schema(url))
    assert tables - {"alembic_version"} == EXPECTED_TABLES
    assert "vector" in extensions
    assert migrate.current(url) == migrate.head()

    # When it is migrated down to base
    migrate.downgrade(url, "base")

    # Then nothing the migration made is left (Alembic keeps its empty version table)
    tables, extensions = asyncio.run(_schema(url))
    assert tables <= {"alembic_version"}
    assert "vector" not in extensions
    assert migrate.current(url) is None

    # And it can be migrated up again
    migrate.upgrade(url, "head")
    tables, _ = asyncio.run(_schema(url))
    assert tables - {"alembic_version"} == EXPECTED_TABLES


async def test_migrate_functions_work_inside_a_running_event_loop(empty_database_url: str) -> None:
    # The fixture database may be at head after the previous test; either way
    # these calls must not fail because an event loop is running here.
    migrate.upgrade(empty_database_url)
    assert migrate.current(empty_database_url) == migrate.head()
    migrate.downgrade(empty_database_url, "base")
    assert migrate.current(empty_database_url) is None


def test_accepts_plain_postgresql_urls(empty_database_url: str) -> None:
    plain = make_url(empty_database_url).set(drivername="postgresql")
    url = plain.render_as_string(hide_password=False)
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()


async def _run(url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run ``statements`` in one transaction; the rows of the last."""
    engine = create_async_engine(async_database_url(url), poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            result = None
            for statement in statements:
                result = await conn.execute(sa.text(statement))
            return [tuple(r) for r in result] if result is not None and result.returns_rows else []
    finally:
        await engine.dispose()


def test_0004_keeps_the_newest_active_job_of_a_document_and_enforces_one(
    empty_database_url: str,
) -> None:
    # Given a database at 0003 holding two active top-level jobs of one
    # document (only a bug could have made them), and a finished one
    url = empty_database_url
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "0003")
    asyncio.run(
        _run(
            url,
            "INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 't')",
            "INSERT INTO documents (id, tenant_id, filename, storage_key, status) VALUES"
            " ('00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-000000000001',"
            " 'a.pdf', 'k1', 'queued')",
            "INSERT INTO jobs (id, tenant_id, document_id, actor_name, queue_name, status,"
            " created_at) SELECT ('00000000-0000-0000-0000-00000000000' || n)::uuid,"
            " '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000d1',"
            " 'docs.process', 'documents', s, now() - make_interval(secs => n)"
            " FROM (VALUES (1, 'queued'), (2, 'running'), (3, 'succeeded')) AS v(n, s)",
        )
    )
    # When it is migrated to 0004
    migrate.upgrade(url, "0004")
    # Then the newest stays active, the older one is cancelled with the reason
    rows = asyncio.run(_run(url, "SELECT id, status, error_type FROM jobs ORDER BY id"))
    assert [(str(i)[-1], s, e) for i, s, e in rows] == [
        ("1", "queued", None),
        ("2", "cancelled", "DuplicateActiveJob"),
        ("3", "succeeded", None),
    ]
    # and the database refuses a second active job of the document
    with pytest.raises(sa.exc.IntegrityError, match="uq_jobs_active_top_level"):
        asyncio.run(
            _run(
                url,
                "INSERT INTO jobs (tenant_id, document_id, actor_name, queue_name, status)"
                " VALUES ('00000000-0000-0000-0000-000000000001',"
                " '00000000-0000-0000-0000-0000000000d1', 'docs.process', 'documents', 'pending')",
            )
        )
    # and down and up again it goes
    migrate.downgrade(url, "0003")
    migrate.upgrade(url, "head")
    assert migrate.current(url) == migrate.head()


_TENANT = "00000000-0000-0000-0000-000000000001"


def _document(n: int, status: str, sha256: str | None) -> str:
    digest = "NULL" if sha256 is None else f"'{sha256}'"
    return (
        "INSERT INTO documents (id, tenant_id, filename, storage_key, status, sha256) VALUES"  # noqa: S608 - the test's constants
        f" ('00000000-0000-0000-0000-0000000000d{n}', '{_TENANT}', 'a.pdf', 'k{n}',"
        f" '{status}', {digest})"
    )


def test_0005_keeps_the_duplicate_rule_and_makes_status_changes_hot(
    empty_database_url: str,
) -> None:
    # Given a database at 0004 with a stored document, a deleted one of the
    # same bytes, and an upload still awaited
    url = empty_database_url
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "0004")
    asyncio.run(
        _run(
            url,
            f"INSERT INTO tenants (id, name) VALUES ('{_TENANT}', 't')",  # noqa: S608 - the test's constants
            _document(1, "ready", "a" * 64),
            _document(2, "deleted", "a" * 64),
            _document(3, "awaiting_upload", None),
        )
    )
    # When it is migrated to 0005
    migrate.upgrade(url, "0005")
    # Then only the stored document's bytes count as held
    rows = asyncio.run(_run(url, "SELECT status, dedupe_sha256 FROM documents ORDER BY id"))
    assert rows == [("ready", "a" * 64), ("deleted", None), ("awaiting_upload", None)]
    # and a second stored document of the same bytes is refused, as before
    with pytest.raises(sa.exc.IntegrityError, match="uq_documents_tenant_id_sha256"):
        asyncio.run(_run(url, _document(4, "uploaded", "a" * 64)))
    # and an awaited upload whose bytes turn out to be held is refused when it
    # stops awaiting, not before
    asyncio.run(
        _run(
            url,
            "UPDATE documents SET sha256 = repeat('a', 64)"
            " WHERE id = '00000000-0000-0000-0000-0000000000d3'",
        )
    )
    with pytest.raises(sa.exc.IntegrityError, match="uq_documents_tenant_id_sha256"):
        asyncio.run(
            _run(
                url,
                "UPDATE documents SET status = 'uploaded'"
                " WHERE id = '00000000-0000-0000-0000-0000000000d3'",
            )
        )
    # and status changes of a stored document are HOT updates (in place,
    # no new index entries), where each was a full update before
    hot = asyncio.run(
        _run(
            url,
            *(
                f"UPDATE documents SET status = '{s}', updated_at = now()"  # noqa: S608 - the test's constants
                " WHERE id = '00000000-0000-0000-0000-0000000000d1'"
                for s in ("queued", "processing", "ready")
            ),
            "SELECT pg_stat_get_xact_tuples_updated('documents'::regclass),"
            " pg_stat_get_xact_tuples_hot_updated('documents'::regclass)",
        )
    )
    assert hot == [(3, 3)]
    # and down and up again it goes
    migrate.downgrade(url, "0004")
    rows = asyncio.run(_run(url, "SELECT count(*) FROM documents"))
    assert rows == [(3,)]
    migrate.upgrade(url, "head")
    assert migrate.current(url) == migrate.head()


def test_0006_adds_document_fields_that_go_with_their_document(empty_database_url: str) -> None:
    # Given a database at 0005 with a document
    url = empty_database_url
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "0005")
    asyncio.run(
        _run(
            url,
            f"INSERT INTO tenants (id, name) VALUES ('{_TENANT}', 't')",  # noqa: S608 - the test's constants
            _document(1, "ready", "a" * 64),
        )
    )
    # When it is migrated to 0006 and the document gets its fields
    migrate.upgrade(url, "0006")
    doc = "00000000-0000-0000-0000-0000000000d1"
    asyncio.run(
        _run(
            url,
            "INSERT INTO document_fields (document_id, tenant_id, document_type, extractor_version)"  # noqa: S608 - the test's constants
            f" VALUES ('{doc}', '{_TENANT}', 'other', 'other/1')",
        )
    )
    rows = asyncio.run(_run(url, "SELECT document_type, fields::text FROM document_fields"))
    assert rows == [("other", "{}")]
    # Then deleting the document deletes its fields
    asyncio.run(_run(url, f"DELETE FROM documents WHERE id = '{doc}'"))  # noqa: S608 - the test's constants
    assert asyncio.run(_run(url, "SELECT count(*) FROM document_fields")) == [(0,)]
    # and the migration goes down and up again
    migrate.downgrade(url, "0005")
    tables, _ = asyncio.run(_schema(url))
    assert "document_fields" not in tables
    migrate.upgrade(url, "head")


def test_0015_moves_chunk_offsets_into_the_text_the_api_serves(empty_database_url: str) -> None:
    # Given a database at 0014 with a three-page document chunked the old
    # way: pages joined by a blank line, one chunk crossing pages 2 and 3
    url = empty_database_url
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "0014")
    pages = ["alpha beta", "gamma delta", "epsilon"]
    old = "\n\n".join(pages)  # alpha beta\n\ngamma delta\n\nepsilon
    chunks = [(0, 1, 1, 0, 10), (1, 2, 3, old.index("delta"), len(old))]
    doc = "00000000-0000-0000-0000-0000000000d1"
    asyncio.run(
        _run(
            url,
            f"INSERT INTO tenants (id, name) VALUES ('{_TENANT}', 't')",  # noqa: S608 - the test's constants
            _document(1, "ready", "a" * 64),
            *(
                "INSERT INTO pages (document_id, page_no, text, method, pipeline_version)"  # noqa: S608 - the test's constants
                f" VALUES ('{doc}', {n}, '{text}', 'text', 't')"
                for n, text in enumerate(pages, 1)
            ),
            *(
                "INSERT INTO chunks (tenant_id, document_id, chunk_index, page_start, page_end,"  # noqa: S608 - the test's constants
                " char_start, char_end, text, token_count, pipeline_version) VALUES"
                f" ('{_TENANT}', '{doc}', {i}, {p1}, {p2}, {s}, {e}, $${old[s:e]}$$, 2, 't')"
                for i, p1, p2, s, e in chunks
            ),
        )
    )
    # When it is migrated to 0015
    migrate.upgrade(url, "0015")
    # Then each chunk is the slice of the form-feed-joined text its offsets name
    whole = "\f".join(pages)
    query = "SELECT char_start, char_end, text FROM chunks ORDER BY chunk_index"
    rows = asyncio.run(_run(url, query))
    assert [r[2] for r in rows] == ["alpha beta", "delta\fepsilon"]
    assert all(whole[s:e] == t for s, e, t in rows)  # type: ignore[misc,index]
    # and down it goes back to the old offsets and text, and up again
    migrate.downgrade(url, "0014")
    assert asyncio.run(_run(url, query)) == [(s, e, old[s:e]) for _, _, _, s, e in chunks]
    migrate.upgrade(url, "head")


def test_0022_and_0023_on_stored_pages_and_vocabulary(empty_database_url: str) -> None:
    # Given a database at 0021 with a text page, a chunk whose words are in
    # the tenant's vocabulary and its (listless) source row
    url = empty_database_url
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "0021")
    doc, chunk = "00000000-0000-0000-0000-0000000000d1", "00000000-0000-0000-0000-0000000000c1"
    sources = "SELECT chunk_id::text, word_list FROM vocabulary_sources ORDER BY chunk_id"
    asyncio.run(
        _run(
            url,
            f"INSERT INTO tenants (id, name) VALUES ('{_TENANT}', 't')",  # noqa: S608 - the test's constants
            _document(1, "ready", "a" * 64),
            "INSERT INTO pages (document_id, page_no, text, method, pipeline_version)"  # noqa: S608 - the test's constants
            f" VALUES ('{doc}', 1, 'gato', 'text', '1')",
            "INSERT INTO chunks (id, tenant_id, document_id, chunk_index, page_start, page_end,"  # noqa: S608 - the test's constants
            " char_start, char_end, text, token_count, pipeline_version) VALUES"
            f" ('{chunk}', '{_TENANT}', '{doc}', 0, 1, 1, 0, 4, 'gato', 1, 't')",
            "INSERT INTO vocabulary_words (tenant_id, model_version, word, embedding)"  # noqa: S608 - the test's constants
            f" VALUES ('{_TENANT}', 'm', 'gato', array_fill(0.1, ARRAY[384])::vector)",
            "INSERT INTO vocabulary_sources (chunk_id, tenant_id, model_version, words)"  # noqa: S608 - the test's constants
            f" VALUES ('{chunk}', '{_TENANT}', 'm', 1)",
        )
    )
    # When it is migrated to 0023
    migrate.upgrade(url, "0023")
    # Then the page has no text version (read again at the next reprocess),
    # the listless source is gone (its document collected again) and the
    # vocabulary keeps its word
    assert asyncio.run(_run(url, "SELECT text_version FROM pages")) == [(None,)]
    assert asyncio.run(_run(url, sources)) == []
    assert asyncio.run(_run(url, "SELECT word FROM vocabulary_words")) == [("gato",)]
    # and a source outlives its chunk as a gone row
    add = (
        "INSERT INTO vocabulary_sources (chunk_id, tenant_id, model_version, words, word_list)"  # noqa: S608 - the test's constants
        f" VALUES ('{chunk}', '{_TENANT}', 'm', 1, ARRAY['gato'])"
    )
    asyncio.run(_run(url, add, f"DELETE FROM chunks WHERE id = '{chunk}'"))  # noqa: S608 - the test's constants
    assert asyncio.run(_run(url, sources)) == [(None, ["gato"])]
    # When it goes down to 0021 with a gone row and a live one
    chunk_sql = (
        "INSERT INTO chunks (id, tenant_id, document_id, chunk_index, page_start, page_end,"  # noqa: S608 - the test's constants
        " char_start, char_end, text, token_count, pipeline_version) VALUES"
        f" ('{chunk}', '{_TENANT}', '{doc}', 0, 1, 1, 0, 4, 'gato', 1, 't')"
    )
    asyncio.run(_run(url, chunk_sql, add))
    migrate.downgrade(url, "0021")
    # Then the gone row is dropped, the live one kept, deleted with its chunk
    assert asyncio.run(_run(url, "SELECT chunk_id::text FROM vocabulary_sources")) == [(chunk,)]
    asyncio.run(_run(url, f"DELETE FROM chunks WHERE id = '{chunk}'"))  # noqa: S608 - the test's constants
    assert asyncio.run(_run(url, "SELECT count(*) FROM vocabulary_sources")) == [(0,)]
    migrate.upgrade(url, "head")
