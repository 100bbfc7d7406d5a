"""HTML: the readable text, without scripts, styles or hidden markup.

Parsed with lexbor (``selectolax``), a forgiving HTML5 parser: broken
markup yields what a browser would show, never an error. Block elements
(paragraphs, headings, list items, table rows, ...) become lines;
inline elements flow with their neighbours; table cells in a row are
separated by `` | ``. The walk is iterative, so deeply nested markup
cannot exhaust the stack. An HTML document is one page.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from folio_worker_docs.text.plain import clean_text, decode_text
from folio_worker_docs.text.types import ExtractedPage, Extraction

_DROPPED = (
    "script",
    "style",
    "noscript",
    "template",
    "head",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "[hidden]",
    "[aria-hidden=true]",
)
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "dd", "details", "div", "dl",
        "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
        "h5", "h6", "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section",
        "summary", "table", "tbody", "thead", "tfoot", "tr", "ul", "caption",
    }
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_END = object()  # marks the end of an element in the walk


def html_to_text(html: str) -> tuple[str, str | None]:
    """Readable text of ``html`` and its ``<title>`` (or ``None``)."""
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else None
    for selector in _DROPPED:
        for node in tree.css(selector):
            node.decompose()
    root = tree.body or tree.root
    if root is None:
        return "", title or None
    out: list[str] = []
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if item is _END:
            out.append("\n")
            continue
        assert isinstance(item, LexborNode)
        tag = item.tag
        if tag == "-text":
            out.append(item.text_content or "")
            continue
        if tag == "br":
            out.append("\n")
            continue
        if tag in _CELLS:
            out.append(" | ")
        elif tag in _BLOCKS:
            out.append("\n")
            stack.append(_END)
        children = list(item.iter(include_text=True))
        stack.extend(reversed(children))
    return _tidy("".join(out)), title or None


def _tidy(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        line = _SPACES.sub(" ", line).strip()
        line = line.removeprefix("| ").removesuffix(" |").strip()
        lines.append(line)
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def extract_html(data: bytes) -> Extraction:
    """HTML bytes: decoded (see :func:`~folio_worker_docs.text.plain.decode_text`),
    readable text as one page."""
    html, encoding = decode_text(data)
    text, title = html_to_text(html)
    metadata = {"title": title} if title else {}
    return Extraction(
        kind="html",
        pages=[ExtractedPage(page_no=1, text=clean_text(text))],
        encoding=encoding,
        metadata=metadata,
    )
