"""Token-aware chunking of a document's pages.

The document text is the pages' texts joined by :data:`PAGE_SEPARATOR`, a
form feed: the same text ``GET /v1/documents/{id}/text`` serves, so a
chunk's offsets index that text directly and its text is that text's slice.
Every chunk knows its character offsets in that text (``char_start``
inclusive, ``char_end`` exclusive), the pages it covers (``page_start`` to
``page_end``; a chunk that crosses a page boundary records both pages) and
its size in the embedding model's tokens.

Tokens come from a :data:`TokenSpans` function (the model's own tokenizer:
:func:`folio_worker_docs.embeddings.model.load_token_spans`), so a chunk never holds
more than the model reads. Windows of ``max_tokens`` advance by
``max_tokens - overlap_tokens``; each window ends, when it can, at a
paragraph break, else a line break, else a sentence end, found in its last
quarter, and the next window starts at a word boundary.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

#: Joins the pages' texts into the document text the offsets refer to (as
#: the API's ``/text`` joins them).
PAGE_SEPARATOR = "\f"

#: ``text -> [(start, end), ...]``: character spans of the model's tokens in
#: ``text``, without special tokens, never truncated.
TokenSpans = Callable[[str], list[tuple[int, int]]]

_SENTENCE_ENDS = frozenset(".!?;:")
_MAX_WORD_BACKOFF_TOKENS = 16


class PageLike(Protocol):
    """Anything with a page number and its text (e.g. ``ExtractedPage``)."""

    @property
    def page_no(self) -> int: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class TextChunk:
    """One chunk: ``index`` counts from 0 in document order."""

    index: int
    text: str
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    token_count: int


@dataclass(frozen=True, slots=True)
class ChunkingOptions:
    """Options of :func:`chunk_pages`.

    ``max_tokens`` (default ``254`` tokens): chunk size; all-MiniLM-L6-v2
    reads 256 tokens, two of which are its ``[CLS]`` and ``[SEP]``.
    ``overlap_tokens`` (default ``32`` tokens): tokens a chunk repeats from
    the end of the previous one; must be less than half of ``max_tokens``.
    """

    max_tokens: int = 254
    overlap_tokens: int = 32

    def __post_init__(self) -> None:
        if self.max_tokens < 8:
            raise ValueError(f"max_tokens must be at least 8, not {self.max_tokens}")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ValueError(
                f"overlap_tokens must be in [0, max_tokens / 2), not {self.overlap_tokens}"
            )


def document_text(pages: Sequence[PageLike]) -> tuple[str, list[int], list[int]]:
    """The document text, the offset where each page starts in it, and the
    page numbers (same order)."""
    starts: list[int] = []
    numbers: list[int] = []
    offset = 0
    for i, page in enumerate(pages):
        if i:
            offset += len(PAGE_SEPARATOR)
        starts.append(offset)
        numbers.append(page.page_no)
        offset += len(page.text)
    return PAGE_SEPARATOR.join(page.text for page in pages), starts, numbers


def model_text(text: str) -> str:
    """``text`` as the embedding model reads it: the page separator becomes
    a line break (same length). Models' tokenizers drop a form feed as a
    control character, which would glue the last word of a page to the
    first of the next."""
    return text.replace(PAGE_SEPARATOR, "\n")


def _cut_rank(text: str, spans: list[tuple[int, int]], j: int) -> int:
    """How good a chunk end before token ``j`` is: 3 paragraph break,
    2 line break, 1 sentence end, 0 none."""
    gap = text[spans[j - 1][1] : spans[j][0]]
    if "\n\n" in gap or PAGE_SEPARATOR in gap:
        return 3
    if "\n" in gap:
        return 2
    if gap and text[spans[j - 1][1] - 1] in _SENTENCE_ENDS:
        return 1
    return 0


def _window_end(text: str, spans: list[tuple[int, int]], start: int, limit: int) -> int:
    if limit >= len(spans):
        return len(spans)
    best, best_rank = limit, 0
    floor = start + (limit - start) * 3 // 4
    for j in range(limit, max(floor, start + 1), -1):
        rank = _cut_rank(text, spans, j)
        if rank > best_rank:
            best, best_rank = j, rank
            if rank == 3:
                break
    return best


def chunk_pages(
    pages: Sequence[PageLike],
    token_spans: TokenSpans,
    options: ChunkingOptions | None = None,
) -> list[TextChunk]:
    """Split the pages' text into overlapping token windows (see the
    module docstring). Pages without text add no chunk; no text, no chunk."""
    opts = options or ChunkingOptions()
    text, page_starts, page_numbers = document_text(pages)
    spans = token_spans(model_text(text)) if text.strip() else []
    chunks: list[TextChunk] = []
    start = 0
    while start < len(spans):
        end = _window_end(text, spans, start, start + opts.max_tokens)
        char_start, char_end = spans[start][0], spans[end - 1][1]
        chunks.append(
            TextChunk(
                index=len(chunks),
                text=text[char_start:char_end],
                page_start=page_numbers[bisect.bisect_right(page_starts, char_start) - 1],
                page_end=page_numbers[bisect.bisect_right(page_starts, char_end - 1) - 1],
                char_start=char_start,
                char_end=char_end,
                token_count=end - start,
            )
        )
        if end >= len(spans):
            break
        following = max(end - opts.overlap_tokens, start + 1)
        # Start on a word, not inside one (word pieces have no gap between
        # them), looking back a few tokens only: text without spaces (a long
        # identifier, base64) must still advance by whole windows.
        word_start = following
        while (
            word_start > max(start + 1, following - _MAX_WORD_BACKOFF_TOKENS)
            and spans[word_start][0] == spans[word_start - 1][1]
        ):
            word_start -= 1
        if word_start == following or spans[word_start][0] != spans[word_start - 1][1]:
            following = word_start
        start = following
    return chunks
