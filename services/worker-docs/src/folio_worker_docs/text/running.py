"""Running headers and footers of a paged document, found and dropped.

A PDF repeats its running header and footer (the title, a reference, a
date, ``Page 3 of 12``) on every page. Left in the text they sit in every
chunk: they pull every chunk's vector towards the same few words, they
lengthen every chunk's keyword entry and they count as terms of every
chunk, so the same document reads differently as a PDF than as text.

A line is running when it is one of the first or last :data:`EDGE_LINES`
lines of a page and its key (case folded, whitespace collapsed, every digit
read as ``#`` so page numbers and dates match) is at an edge of at least
half of the sampled pages, and of two at least (identical pages count
once: a form printed twice has no running line), and in no page's body (a
list whose lines differ only in their numbers, a statement's entries,
has no running line either). The sample is the same
for every part of a document (its first :data:`SAMPLE_PAGES` pages), so
pages read in separate batches are trimmed alike.

The first page keeps its running lines: the header is read once, where it
starts the document (its title, a reference number the structured fields
may need), and its repetitions are dropped. A running line is only removed
from a page's edges, never from its body, and a page made only of running
lines is kept whole.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

#: Lines at the top and at the bottom of a page where a running header or
#: footer may sit.
EDGE_LINES = 2
#: Pages read to find a document's running lines (its first pages).
SAMPLE_PAGES = 10
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"\s+")


def line_key(line: str) -> str:
    """What two running lines share: case folded, spaces collapsed, digits as ``#``."""
    return _DIGITS.sub("#", _SPACES.sub(" ", line.strip()).casefold())


def _edges_and_body(text: str) -> tuple[set[str], set[str]]:
    keys = [line_key(line) for line in text.split("\n") if line.strip()]
    edges = set(keys[:EDGE_LINES] + keys[-EDGE_LINES:])
    return edges, set(keys[EDGE_LINES:-EDGE_LINES])


def running_lines(page_texts: Sequence[str]) -> frozenset[str]:
    """Keys of the running lines of a document sampled by ``page_texts``
    (pages without text are not counted)."""
    pages = list(dict.fromkeys(text.strip() for text in page_texts if text.strip()))
    if len(pages) < 2:
        return frozenset()
    counts: Counter[str] = Counter()
    body: set[str] = set()
    for text in pages:
        edges, inner = _edges_and_body(text)
        counts.update(edges)
        body |= inner
    needed = max(2, (len(pages) + 1) // 2)
    return frozenset(key for key, n in counts.items() if n >= needed and key not in body)


def drop_running_lines(text: str, running: frozenset[str]) -> str:
    """``text`` (one page) without the running lines at its edges."""
    if not running:
        return text
    lines = text.split("\n")
    top, bottom = 0, len(lines)
    for _ in range(EDGE_LINES):
        while top < bottom and not lines[top].strip():
            top += 1
        if top < bottom and line_key(lines[top]) in running:
            top += 1
    for _ in range(EDGE_LINES):
        while bottom > top and not lines[bottom - 1].strip():
            bottom -= 1
        if bottom > top and line_key(lines[bottom - 1]) in running:
            bottom -= 1
    kept = "\n".join(lines[top:bottom]).strip()
    return kept or text
