"""A chunk's offsets index the text ``GET /v1/documents/{id}/text`` serves.

A multi-page PDF goes through the real API and workers; every chunk (from
``/chunks``) and every search hit is the slice of ``/text`` its
``char_start``/``char_end`` name, on the pages it says, chunks that cross a
page break included.
"""

from __future__ import annotations

import pytest
from documents import pdf
from e2ekit import Api, finished, submit

from folio_shared.db.enums import DocumentKind

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _page(n: int) -> str:
    # ~150 tokens a page: 254-token chunks cross every page break
    return "\n".join(
        f"Page {n}, entry {i}: the harbour pilot guided vessel {n * 100 + i} past the reef."
        for i in range(12)
    )


async def test_chunks_and_hits_are_slices_of_the_documents_text(api: Api) -> None:
    # Given a four-page PDF, processed
    document_id = await submit(
        api, DocumentKind.PDF, "application/pdf", pdf([_page(n) for n in range(1, 5)])
    )
    assert await finished(api.engine, document_id) == "ready"
    text = await api.client.get(f"/v1/documents/{document_id}/text", headers=api.headers)
    assert text.status_code == 200, text.text
    assert text.json()["next_offset"] is None
    whole: str = text.json()["text"]
    assert whole.count("\f") == 3

    # When its chunks are listed
    answer = await api.client.get(
        f"/v1/documents/{document_id}/chunks", headers=api.headers, params={"limit": 100}
    )
    assert answer.status_code == 200, answer.text
    chunks = answer.json()["items"]

    # Then each is the slice of the text its offsets name, on its pages
    assert any(c["page_start"] != c["page_end"] for c in chunks)
    assert chunks[-1]["char_end"] == len(whole)
    for c in chunks:
        assert whole[c["char_start"] : c["char_end"]] == c["text"], c["index"]
        assert whole[: c["char_start"]].count("\f") + 1 == c["page_start"]
        assert whole[: c["char_end"] - 1].count("\f") + 1 == c["page_end"]

    # and so is every search hit
    found = await api.client.get(
        "/v1/search",
        params={"q": "harbour pilot vessel 304", "k": 5, "group": "chunk"},
        headers=api.headers,
    )
    assert found.status_code == 200, found.text
    hits = found.json()["results"]
    assert hits
    for hit in hits:
        assert whole[hit["char_start"] : hit["char_end"]] == hit["text"]
