"""A file name is the client's text: it is escaped wherever the API puts it
in HTML (a search hit's ``filename_html``, beside its HTML snippet) or in a
header (``Content-Disposition``), and kept exact where it is plain text."""

from __future__ import annotations

import html
import uuid
from typing import Any

import pytest
from apikit import TenantKey
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.engine import create_session_factory
from folio_shared.db.models import Chunk

pytestmark = pytest.mark.integration

HOSTILE = '<img src=x onerror="alert(1)">&co\'s.txt'


async def test_a_hostile_file_name_is_escaped_where_it_meets_html(
    client: AsyncTestClient[Any], alice: TenantKey, engine: AsyncEngine
) -> None:
    # Given a document whose name is markup, with one searchable chunk
    uploaded = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files={"file": (HOSTILE, b"zeppelin hangar inspection\n", "text/plain")},
        params={"process": "false"},
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()["document"]
    assert document["filename"] == HOSTILE  # plain text: kept exact
    async with create_session_factory(engine)() as session:
        session.add(
            Chunk(
                id=uuid.uuid4(), tenant_id=alice.tenant_id, document_id=uuid.UUID(document["id"]),
                chunk_index=0, page_start=1, page_end=1, char_start=0, char_end=26,
                text="zeppelin hangar inspection", token_count=3, pipeline_version="test",
            )
        )  # fmt: skip
        await session.commit()
    # When it is found
    found = await client.get(
        "/v1/search", params={"q": "zeppelin", "mode": "keyword"}, headers=alice.headers
    )
    assert found.status_code == 200, found.text
    hit = found.json()["results"][0]
    # Then the HTML fields hold no markup of the client's, the text field is exact
    assert hit["filename"] == HOSTILE
    assert hit["filename_html"] == html.escape(HOSTILE)
    for field in ("filename_html", "snippet"):
        assert "<img" not in hit[field]
        assert '"' not in hit[field]
    # and the download's header cannot be broken out of
    file = await client.get(document["links"]["file"], headers=alice.headers)
    disposition = file.headers["content-disposition"]
    assert disposition.count('"') == 2  # its own two quotes, none of the name's
    assert "%3Cimg" in disposition  # the exact name, percent-encoded
