"""DOCX: paragraphs and tables, in document order, split at page breaks.

A DOCX file has no fixed pages (the layout happens in the word processor),
so pages are the parts between explicit page breaks (``<w:br
w:type="page"/>`` in a run, or a paragraph with ``pageBreakBefore``).
Table rows become lines with cells separated by `` | ``; nested tables are
flattened into their cell. Headers, footers and comments are left out.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from docx import Document as open_docx
from docx.opc.exceptions import PackageNotFoundError

from folio_worker_docs.text.errors import CorruptDocument, EncryptedDocument
from folio_worker_docs.text.types import ExtractedPage, Extraction

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _paragraph_parts(p: Any) -> list[str | None]:
    """Text of a ``w:p`` element; ``None`` items mark page breaks."""
    parts: list[str | None] = []
    ppr = p.find(f"{_W}pPr")
    if ppr is not None and ppr.find(f"{_W}pageBreakBefore") is not None:
        parts.append(None)
    buf: list[str] = []
    for el in p.iter():
        tag = el.tag
        if tag == f"{_W}t" and el.text:
            buf.append(el.text)
        elif tag == f"{_W}tab":
            buf.append("\t")
        elif tag in (f"{_W}br", f"{_W}cr"):
            if el.get(f"{_W}type") == "page":
                parts.append("".join(buf))
                buf = []
                parts.append(None)
            else:
                buf.append("\n")
    parts.append("".join(buf))
    return parts


def _cell_text(tc: Any) -> str:
    texts = []
    for p in tc.iter(f"{_W}p"):
        text = "".join(part for part in _paragraph_parts(p) if part)
        if text.strip():
            texts.append(text.strip())
    return " ".join(texts)


def _table_lines(tbl: Any) -> list[str]:
    lines = []
    for tr in tbl.iterchildren(f"{_W}tr"):
        cells = [_cell_text(tc) for tc in tr.iterchildren(f"{_W}tc")]
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def extract_docx(data: bytes) -> Extraction:
    """DOCX bytes: text per page (see the module docstring)."""
    if data.startswith(_OLE_MAGIC):
        # Password-protected Office files are an OLE container, not a ZIP.
        raise EncryptedDocument("the DOCX file is password-protected", kind="docx")
    try:
        document = open_docx(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise CorruptDocument(f"the DOCX file cannot be read: {e}", kind="docx") from e
    except Exception as e:  # lxml and zipfile raise a variety of errors on bad input
        raise CorruptDocument(
            f"the DOCX file cannot be read: {type(e).__name__}: {e}", kind="docx"
        ) from e
    pages: list[list[str]] = [[]]
    for block in document.element.body.iterchildren():
        if block.tag == f"{_W}p":
            for part in _paragraph_parts(block):
                if part is None:
                    if pages[-1]:
                        pages.append([])
                elif part.strip():
                    pages[-1].append(part.strip())
        elif block.tag == f"{_W}tbl":
            pages[-1].extend(_table_lines(block))
    props = document.core_properties
    metadata = {
        key: value for key, value in (("title", props.title), ("author", props.author)) if value
    }
    return Extraction(
        kind="docx",
        pages=[ExtractedPage(page_no=i, text="\n".join(p)) for i, p in enumerate(pages, 1)],
        metadata=metadata,
    )
