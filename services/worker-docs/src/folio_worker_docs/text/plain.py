"""Plain text and Markdown: encoding detection that never fails.

The encoding is, in order: the byte-order mark; strict UTF-8; what
``charset-normalizer`` detects; and at last UTF-8 with every undecodable
byte replaced by U+FFFD. Bad bytes therefore never raise. NUL and other
control characters (except tab, newline and form feed) are dropped.

Pages: plain text has one page, or one per form feed (``\\f``, the page
break of ``pr``/``pdftotext`` output). Markdown is kept as written (its
markup reads naturally and is what users search for).
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from folio_worker_docs.text.markdown import inline_text, markdown_to_text
from folio_worker_docs.text.types import ExtractedPage, Extraction

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_DETECT_BYTES = 256 * 1024
_TIE_WINNER = "cp1252"
_TIE_CHAOS = 0.01


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode ``data`` as text; return ``(text, encoding)``. Never raises."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    detected = _detect(data[:_DETECT_BYTES])
    if detected:
        try:
            return data.decode(detected, errors="replace"), detected
        except LookupError:
            pass
    return data.decode("utf-8", errors="replace"), "utf-8"


def _detect(sample: bytes) -> str | None:
    """The most likely encoding; when single-byte code pages tie (short
    Western text reads the same in several), Windows-1252, by far the most
    common, wins."""
    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if match.encoding == _TIE_WINNER and match.chaos <= best.chaos + _TIE_CHAOS:
            return _TIE_WINNER
    encoding: str = best.encoding
    return encoding


def clean_text(text: str) -> str:
    """Normalise newlines and drop control characters (keeps ``\\t \\n \\f``)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def extract_plain_text(data: bytes) -> Extraction:
    """Plain text: one page per form feed-separated part."""
    text, encoding = decode_text(data)
    parts = clean_text(text).split("\f")
    pages = [ExtractedPage(page_no=i, text=part.strip("\n")) for i, part in enumerate(parts, 1)]
    return Extraction(kind="text", pages=pages, encoding=encoding)


def extract_markdown(data: bytes) -> Extraction:
    """Markdown: its text without the markup, one page; the first level-1
    heading is the title."""
    text, encoding = decode_text(data)
    text = clean_text(text).replace("\f", "\n")
    metadata: dict[str, str] = {}
    title = re.search(r"^#\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE)
    if title:
        metadata["title"] = inline_text(title.group(1))
    return Extraction(
        kind="markdown",
        pages=[ExtractedPage(page_no=1, text=markdown_to_text(text))],
        encoding=encoding,
        metadata=metadata,
    )
