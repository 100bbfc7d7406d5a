"""The Python client joins the windows of a long text back into one."""

from __future__ import annotations

from folio_client.models import Text


def window(text: str, offset: int, next_offset: int | None, pages: list[tuple[int, str]]) -> Text:
    return Text.from_json(
        {
            "document_id": "d",
            "text": text,
            "page": None,
            "page_count": 2,
            "pages": [{"page_no": n, "text": t, "method": "text"} for n, t in pages],
            "offset": offset,
            "next_offset": next_offset,
        }
    )


def test_windows_join_into_the_whole_text_with_a_cut_page_as_one() -> None:
    first = window("abc\fde", 0, 6, [(1, "abc"), (2, "de")])
    second = window("fg", 6, None, [(2, "fg")])
    whole = first.then(second)
    assert whole.text == "abc\fdefg"
    assert [(p["page_no"], p["text"]) for p in whole.pages] == [(1, "abc"), (2, "defg")]
    assert (whole.offset, whole.next_offset) == (0, None)
    assert first.pages[1]["text"] == "de"  # the windows themselves are unchanged
