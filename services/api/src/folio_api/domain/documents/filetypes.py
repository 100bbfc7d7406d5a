"""What a file really is: type from magic bytes, the extension allow-list,
and the client's file name as safe metadata.

Pure logic (no I/O), shared by the API (uploads) and the workers. The rule
is that a file's bytes decide its type, never its name or a header; the
name must then agree with the bytes:

- :func:`sniff` reads the first bytes (:data:`SNIFF_BYTES` are enough) and
  names the *family* of the file: ``pdf``, ``png``, ``jpeg``, ``tiff``,
  ``webp``, ``docx``, ``html`` or ``text``; anything else is ``None``.
  Signatures are checked first; ``libmagic`` (``python-magic``) confirms
  text, HTML and the ZIP container of DOCX.
- Plain text and Markdown cannot be told apart by bytes: a ``text`` file
  is ``markdown`` when its extension says so (``.md``, ``.markdown``), else
  ``text``. An HTML file may not be renamed ``.txt`` and the other way round.
- :func:`check_upload` applies the allow-list, the extension rule and the
  client's declared content type, raising
  :class:`~folio_shared.errors.UnsupportedFileType` (415),
  :class:`~folio_shared.errors.FileTypeMismatch` (415) or
  :class:`~folio_shared.errors.EmptyFile` (400).
- :func:`sanitize_filename` keeps a client's name as metadata only: it is
  never used as a path, so a name that *looks* like a path is refused
  (:class:`~folio_shared.errors.InvalidFilename`), not silently rewritten.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

import magic

from folio_shared.db.enums import DocumentKind
from folio_shared.errors import EmptyFile, FileTypeMismatch, InvalidFilename, UnsupportedFileType

#: How many leading bytes :func:`sniff` needs.
SNIFF_BYTES = 8192

#: Longest accepted file name, in characters (after normalisation).
MAX_FILENAME_CHARS = 255

#: The MIME type stored and sent for each kind.
MIME_TYPES: dict[DocumentKind, str] = {
    DocumentKind.PDF: "application/pdf",
    DocumentKind.PNG: "image/png",
    DocumentKind.JPEG: "image/jpeg",
    DocumentKind.TIFF: "image/tiff",
    DocumentKind.WEBP: "image/webp",
    DocumentKind.TEXT: "text/plain",
    DocumentKind.MARKDOWN: "text/markdown",
    DocumentKind.HTML: "text/html",
    DocumentKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

#: Accepted extensions (lower case, with the dot) and the kind each names.
EXTENSIONS: dict[str, DocumentKind] = {
    ".pdf": DocumentKind.PDF,
    ".png": DocumentKind.PNG,
    ".jpg": DocumentKind.JPEG,
    ".jpeg": DocumentKind.JPEG,
    ".tif": DocumentKind.TIFF,
    ".tiff": DocumentKind.TIFF,
    ".webp": DocumentKind.WEBP,
    ".txt": DocumentKind.TEXT,
    ".text": DocumentKind.TEXT,
    ".md": DocumentKind.MARKDOWN,
    ".markdown": DocumentKind.MARKDOWN,
    ".html": DocumentKind.HTML,
    ".htm": DocumentKind.HTML,
    ".docx": DocumentKind.DOCX,
}

#: Declared content types that say nothing and are always accepted.
NEUTRAL_CONTENT_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})

#: Other declared content types that agree with a kind (besides its own).
_ALIASES: dict[DocumentKind, frozenset[str]] = {
    DocumentKind.JPEG: frozenset({"image/jpg", "image/pjpeg"}),
    DocumentKind.MARKDOWN: frozenset({"text/plain", "text/x-markdown"}),
    DocumentKind.TEXT: frozenset({"text/markdown"}),
    DocumentKind.HTML: frozenset({"application/xhtml+xml"}),
    DocumentKind.PDF: frozenset({"application/x-pdf"}),
}

#: Control characters no text file holds (tab, line feed, form feed and
#: carriage return are fine).
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")

_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<meta", b"<title")


@dataclass(frozen=True, slots=True)
class FileType:
    """The verdict on one file: its ``kind`` and the ``content_type`` Folio
    stores and sends for it."""

    kind: DocumentKind
    content_type: str


def sniff(head: bytes) -> DocumentKind | None:
    """The family of a file from its first bytes (``text`` for Markdown too),
    or ``None`` when it is none Folio knows."""
    if not head:
        return None
    if head.startswith(b"%PDF-"):
        return DocumentKind.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return DocumentKind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return DocumentKind.JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return DocumentKind.TIFF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return DocumentKind.WEBP
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(head)
    return _sniff_text(head)


def _sniff_zip(head: bytes) -> DocumentKind | None:
    mime = magic.from_buffer(head, mime=True)
    if mime == MIME_TYPES[DocumentKind.DOCX]:
        return DocumentKind.DOCX
    # libmagic needs [Content_Types].xml first; some writers put it later.
    if b"[Content_Types].xml" in head and b"word/" in head:
        return DocumentKind.DOCX
    return None


def _sniff_text(head: bytes) -> DocumentKind | None:
    if b"\x00" in head:
        return None
    body = head.removeprefix(b"\xef\xbb\xbf")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        # A multi-byte character cut at the end of the sample is fine.
        if e.start < len(body) - 3 or len(head) < SNIFF_BYTES:
            return None
    if _CONTROL.search(body):
        return None
    start = body.lstrip()
    if start[:64].lower().startswith(_HTML_STARTS):
        return DocumentKind.HTML
    # libmagic (~4 ms of CPU on 8 KB of text) only for what may be markup
    if start.startswith(b"<") and magic.from_buffer(head, mime=True) == "text/html":
        return DocumentKind.HTML
    return DocumentKind.TEXT


def extension_of(filename: str) -> str:
    """The lower-case extension of ``filename`` with its dot (``""`` if none)."""
    return PurePosixPath(filename).suffix.lower()


def check_upload(
    head: bytes,
    filename: str,
    *,
    allowed: frozenset[str],
    declared_content_type: str | None = None,
) -> FileType:
    """Decide the type of an upload whose first bytes are ``head``.

    - ``filename``: the client's (sanitised) name; its extension must be one
      of :data:`EXTENSIONS` and agree with the bytes.
    - ``allowed``: the kinds accepted (``settings.upload.allowed``).
    - ``declared_content_type``: the client's ``Content-Type`` for the file,
      if any; a specific type that disagrees with the bytes is refused.
    """
    if not head:
        raise EmptyFile("the file is empty", filename=filename)
    extension = extension_of(filename)
    named = EXTENSIONS.get(extension)
    if named is None:
        known = ", ".join(sorted(EXTENSIONS))
        raise UnsupportedFileType(
            f"extension {extension or '(none)'!r} is not accepted; expected one of: {known}",
            filename=filename,
        )
    family = sniff(head)
    if family is None:
        raise UnsupportedFileType(
            "the file's content is not a supported type "
            "(PDF, PNG, JPEG, TIFF, WebP, text, Markdown, HTML, DOCX)",
            filename=filename,
        )
    kind = family
    if family is DocumentKind.TEXT and named is DocumentKind.MARKDOWN:
        kind = DocumentKind.MARKDOWN
    elif family is DocumentKind.HTML and named in (DocumentKind.TEXT, DocumentKind.MARKDOWN):
        # Markup in a text file is text; it is never rendered as HTML.
        kind = named
    elif family is DocumentKind.TEXT and named is DocumentKind.HTML and head.lstrip()[:1] == b"<":
        kind = DocumentKind.HTML  # an HTML fragment
    if kind is not named:
        raise FileTypeMismatch(
            f"the file's content is {family.value}, but its extension {extension!r} "
            f"says {named.value}",
            sniffed=family.value,
            extension=extension,
        )
    if kind.value not in allowed:
        raise UnsupportedFileType(
            f"{kind.value} files are not accepted here", kind=kind.value, filename=filename
        )
    content_type = MIME_TYPES[kind]
    declared = (declared_content_type or "").split(";", 1)[0].strip().lower()
    agreeing = NEUTRAL_CONTENT_TYPES | {content_type} | _ALIASES.get(kind, frozenset())
    if declared not in agreeing:
        raise FileTypeMismatch(
            f"declared content type {declared!r} disagrees with the file's content "
            f"({content_type})",
            declared=declared,
            sniffed=kind.value,
        )
    return FileType(kind, content_type)


def content_type_for(filename: str, *, allowed: frozenset[str]) -> FileType:
    """The type a file named ``filename`` must have, from its extension only
    (presigned uploads, before any byte exists); the bytes are checked later."""
    extension = extension_of(filename)
    kind = EXTENSIONS.get(extension)
    if kind is None:
        known = ", ".join(sorted(EXTENSIONS))
        raise UnsupportedFileType(
            f"extension {extension or '(none)'!r} is not accepted; expected one of: {known}",
            filename=filename,
        )
    if kind.value not in allowed:
        raise UnsupportedFileType(f"{kind.value} files are not accepted here", kind=kind.value)
    return FileType(kind, MIME_TYPES[kind])


def sanitize_filename(name: str | None) -> str:
    """The client's file name, safe to keep and show: NFC-normalised, blanks
    trimmed. Refused (:class:`InvalidFilename`): empty, longer than
    :data:`MAX_FILENAME_CHARS`, containing ``/``, ``\\``, control or
    format characters, or made only of dots (``.``, ``..``)."""
    if name is None:
        raise InvalidFilename("the file has no name (a filename is required)")
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        raise InvalidFilename("the file name is empty")
    if len(clean) > MAX_FILENAME_CHARS:
        raise InvalidFilename(
            f"the file name is longer than {MAX_FILENAME_CHARS} characters", length=len(clean)
        )
    if "/" in clean or "\\" in clean:
        raise InvalidFilename("the file name may not contain a path ('/' or '\\')")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in clean):
        raise InvalidFilename("the file name contains control characters")
    if set(clean) == {"."}:
        raise InvalidFilename("the file name may not be '.' or '..'")
    return clean
