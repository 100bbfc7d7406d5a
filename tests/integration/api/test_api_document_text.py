"""``GET /v1/documents/{id}/text`` answers a bounded window of a long
text at a time; following ``next_offset`` gives the whole back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, pdf_bytes
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.enums import PageMethod
from folio_shared.db.models import Document, Page

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


async def upload(client: Client, who: TenantKey, data: bytes, name: str) -> Any:
    r = await client.post(
        "/v1/documents",
        headers=who.headers,
        params={"process": "false"},
        files={"file": (name, data, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    return r


async def test_text_is_read_in_bounded_windows(
    client: Client, alice: TenantKey, engine: AsyncEngine
) -> None:
    # Given a document of 2.5 million characters: a 1.3 M page, a short one,
    # and a 1.2 M page
    r = await upload(client, alice, pdf_bytes("long text"), "long.pdf")
    doc_id = uuid.UUID(r.json()["document"]["id"])
    texts = ["a" * 1_299_999 + "é", "short", "b" * 1_200_000]
    async with engine.begin() as conn:
        for n, text in enumerate(texts, 1):
            await conn.execute(
                sa.insert(Page).values(
                    document_id=doc_id,
                    page_no=n,
                    text=text,
                    method=PageMethod.TEXT,
                    pipeline_version="t",
                )
            )
        await conn.execute(
            sa.update(Document).where(Document.id == doc_id).values(status="ready", page_count=3)
        )
    whole = "\f".join(texts)
    # When a client reads the text without saying how much
    first = await client.get(f"/v1/documents/{doc_id}/text", headers=alice.headers)
    # Then it gets at most a million characters, and where to go on
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["text"]) == 1_000_000
    assert len(first.content) < 2_200_000
    assert (body["offset"], body["next_offset"], body["total_chars"]) == (0, 1_000_000, len(whole))
    # And following next_offset gives the whole text back, window by window
    read, offset = [body["text"]], body["next_offset"]
    while offset is not None:
        more = (
            await client.get(
                f"/v1/documents/{doc_id}/text", headers=alice.headers, params={"offset": offset}
            )
        ).json()
        read.append(more["text"])
        offset = more["next_offset"]
    assert "".join(read) == whole
    # A window across pages lists the pages it overlaps, each with its part
    across = (
        await client.get(
            f"/v1/documents/{doc_id}/text",
            headers=alice.headers,
            params={"offset": 1_299_998, "limit": 10},
        )
    ).json()
    assert across["text"] == whole[1_299_998:1_300_008] == "aé\fshort\fb"
    assert [(p["page_no"], p["text"]) for p in across["pages"]] == [
        (1, "aé"),
        (2, "short"),
        (3, "b"),
    ]
    # One long page is bounded too
    page = (
        await client.get(f"/v1/documents/{doc_id}/text", headers=alice.headers, params={"page": 1})
    ).json()
    assert (len(page["text"]), page["next_offset"], page["total_chars"]) == (
        1_000_000,
        1_000_000,
        1_300_000,
    )
    tail = (
        await client.get(
            f"/v1/documents/{doc_id}/text",
            headers=alice.headers,
            params={"page": 1, "offset": 1_000_000},
        )
    ).json()
    assert tail["text"] == texts[0][1_000_000:]
    assert tail["next_offset"] is None
