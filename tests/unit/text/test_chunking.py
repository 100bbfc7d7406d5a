"""Token-aware chunking with the embedding model's own tokenizer."""

from __future__ import annotations

import itertools

import pytest

from folio_worker_docs.embeddings.model import load_token_spans
from folio_worker_docs.text.chunking import (
    PAGE_SEPARATOR,
    ChunkingOptions,
    TokenSpans,
    chunk_pages,
    document_text,
    model_text,
)
from folio_worker_docs.text.types import ExtractedPage


@pytest.fixture(scope="module")
def token_spans() -> TokenSpans:
    return load_token_spans()


def _sentences(n: int, topic: str) -> str:
    return " ".join(f"Sentence {i} talks about {topic} in some detail." for i in range(n))


def test_short_document_is_one_chunk(token_spans: TokenSpans) -> None:
    chunks = chunk_pages([ExtractedPage(1, "Bees make honey.")], token_spans)
    assert len(chunks) == 1
    c = chunks[0]
    assert (c.index, c.text, c.page_start, c.page_end, c.char_start) == (
        0, "Bees make honey.", 1, 1, 0,
    )  # fmt: skip
    assert c.token_count == len(token_spans("Bees make honey."))


def test_chunks_respect_the_token_limit_and_overlap(token_spans: TokenSpans) -> None:
    pages = [ExtractedPage(1, _sentences(200, "volcanoes"))]
    opts = ChunkingOptions(max_tokens=64, overlap_tokens=8)
    chunks = chunk_pages(pages, token_spans, opts)
    assert len(chunks) > 10
    text, _, _ = document_text(pages)
    for prev, cur in itertools.pairwise(chunks):
        assert cur.char_start < prev.char_end  # overlapping
        assert cur.char_start > prev.char_start  # advancing
    for c in chunks:
        assert c.token_count <= 64
        assert len(token_spans(c.text)) == c.token_count
        assert text[c.char_start : c.char_end] == c.text
    assert chunks[-1].char_end == len(text)


def test_chunks_prefer_sentence_ends(token_spans: TokenSpans) -> None:
    chunks = chunk_pages(
        [ExtractedPage(1, _sentences(100, "tides"))], token_spans, ChunkingOptions(64, 8)
    )
    assert all(c.text.endswith(".") for c in chunks)


def test_page_ranges_and_offsets(token_spans: TokenSpans) -> None:
    pages = [
        ExtractedPage(1, _sentences(30, "glaciers")),
        ExtractedPage(2, ""),
        ExtractedPage(3, _sentences(30, "deserts")),
    ]
    chunks = chunk_pages(pages, token_spans, ChunkingOptions(100, 10))
    _, starts, numbers = document_text(pages)
    assert numbers == [1, 2, 3]
    assert starts[1] == len(pages[0].text) + len(PAGE_SEPARATOR)
    assert chunks[0].page_start == 1
    assert chunks[-1].page_end == 3
    crossing = [c for c in chunks if c.page_start != c.page_end]
    assert crossing
    for c in crossing:
        assert "glaciers" in c.text
        assert "deserts" in c.text
        # the page break is the API text's form feed; the model reads a line
        # break there, so the words on either side stay apart
        assert "\f" in c.text
        assert len(token_spans(model_text(c.text))) == c.token_count
    for c in chunks:
        if c.page_start == c.page_end == 1:
            assert "deserts" not in c.text
        if c.page_start == c.page_end == 3:
            assert "glaciers" not in c.text


def test_empty_document_has_no_chunks(token_spans: TokenSpans) -> None:
    assert chunk_pages([ExtractedPage(1, ""), ExtractedPage(2, "  \n")], token_spans) == []


def test_text_without_spaces_still_advances(token_spans: TokenSpans) -> None:
    blob = "-".join(f"part{i}" for i in range(3000))  # tokens, but no spaces at all
    chunks = chunk_pages([ExtractedPage(1, blob)], token_spans, ChunkingOptions(64, 16))
    assert len(chunks) < 3 * len(token_spans(blob)) // 48


def test_invalid_options() -> None:
    with pytest.raises(ValueError, match="overlap"):
        ChunkingOptions(max_tokens=64, overlap_tokens=40)
