"""Migration 0024 fills the tenants' keyword totals from their documents,
and its triggers add later writes to them."""

from __future__ import annotations

import asyncio

import pytest
from test_db_migrations import _TENANT, _document, _run

from folio_shared.db import migrate

pytestmark = pytest.mark.integration


def test_0024_fills_the_tenants_keyword_totals(empty_database_url: str) -> None:
    # Given a database at 0023 with a tenant holding two documents with
    # chunks and one without, and a tenant holding none
    url = empty_database_url
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "0023")
    empty = "00000000-0000-0000-0000-000000000002"
    counts = "UPDATE documents SET chunk_count = {}, token_count = {} WHERE storage_key = 'k{}'"
    asyncio.run(
        _run(
            url,
            f"INSERT INTO tenants (id, name) VALUES ('{_TENANT}', 't'), ('{empty}', 'e')",  # noqa: S608 - the test's constants
            _document(1, "ready", "a" * 64),
            _document(2, "ready", "b" * 64),
            _document(3, "ready", "c" * 64),
            counts.format(3, 40, 1),
            counts.format(2, 25, 2),
        )
    )
    # When it is migrated to 0024
    migrate.upgrade(url, "0024")
    # Then the tenant's totals are its documents' sums, and the other has none
    totals = "SELECT tenant_id::text, chunks, tokens, documents FROM tenant_keyword_totals"
    assert asyncio.run(_run(url, totals)) == [(_TENANT, 5, 65, 2)]
    # and a later write adds to them
    asyncio.run(_run(url, counts.format(1, 10, 3)))
    sums = "SELECT sum(chunks), sum(tokens), sum(documents) FROM tenant_keyword_totals"
    assert asyncio.run(_run(url, sums)) == [(6, 75, 3)]
    migrate.downgrade(url, "0023")
    migrate.upgrade(url, "head")
