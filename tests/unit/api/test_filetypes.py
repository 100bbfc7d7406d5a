"""File types from magic bytes, the extension rule and file-name checks (no I/O)."""

from __future__ import annotations

import io
import zipfile

import pytest

from folio_api.domain.documents.filetypes import (
    check_upload,
    content_type_for,
    sanitize_filename,
    sniff,
)
from folio_shared.db.enums import DocumentKind
from folio_shared.errors import EmptyFile, FileTypeMismatch, InvalidFilename, UnsupportedFileType

ALL = frozenset(k.value for k in DocumentKind)


def docx_head() -> bytes:
    import docx

    out = io.BytesIO()
    docx.Document().save(out)
    return out.getvalue()[:8192]


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n", DocumentKind.PDF),
        (b"\x89PNG\r\n\x1a\n....", DocumentKind.PNG),
        (b"\xff\xd8\xff\xe1", DocumentKind.JPEG),
        (b"II*\x00", DocumentKind.TIFF),
        (b"MM\x00*", DocumentKind.TIFF),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", DocumentKind.WEBP),
        (b"hello\nworld", DocumentKind.TEXT),
        ("ol\u00e1, mundo".encode(), DocumentKind.TEXT),
        (b"\xef\xbb\xbf<!doctype html><p>", DocumentKind.HTML),
        (b"  <table><tr><td>x</td></tr></table>", DocumentKind.HTML),  # libmagic's verdict
        (b"tab\tform feed\x0c crlf\r\n", DocumentKind.TEXT),
        (b"vertical\x0btab", None),
        (b"escape \x1b[0m", None),
        (b"delete \x7f", None),
        (b"MZ\x90\x00", None),
        (b"\x7fELF", None),
        (b"abc\x00def", None),
        (b"\xff\xfe\x00\x00garbage\x80\x81", None),
        (b"", None),
    ],
)
def test_sniff(head: bytes, kind: DocumentKind | None) -> None:
    assert sniff(head) is kind


def test_docx_and_plain_zip() -> None:
    assert sniff(docx_head()) is DocumentKind.DOCX
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", "x")
    assert sniff(out.getvalue()) is None


def test_extension_decides_markdown_and_must_agree() -> None:
    assert check_upload(b"# T", "a.md", allowed=ALL).kind is DocumentKind.MARKDOWN
    assert check_upload(b"# T", "a.txt", allowed=ALL).kind is DocumentKind.TEXT
    assert check_upload(b"<p>x</p>", "a.html", allowed=ALL).kind is DocumentKind.HTML
    assert check_upload(b"<html>", "a.txt", allowed=ALL).kind is DocumentKind.TEXT
    with pytest.raises(FileTypeMismatch):
        check_upload(b"<html>", "a.pdf", allowed=ALL)
    with pytest.raises(FileTypeMismatch):
        check_upload(b"%PDF-1.4", "a.pdf", allowed=ALL, declared_content_type="image/png")
    assert check_upload(b"%PDF-1.4", "A.PDF", allowed=ALL, declared_content_type="application/pdf")
    with pytest.raises(UnsupportedFileType):
        check_upload(b"%PDF-1.4", "a.pdf", allowed=frozenset({"png"}))
    with pytest.raises(EmptyFile):
        check_upload(b"", "a.pdf", allowed=ALL)
    assert content_type_for("x.docx", allowed=ALL).kind is DocumentKind.DOCX
    with pytest.raises(UnsupportedFileType):
        content_type_for("x.exe", allowed=ALL)


@pytest.mark.parametrize(
    "name", [None, "", "   ", "../a.pdf", "a/b.pdf", "a\\b.pdf", "..", ".", "a\x00.pdf", "x" * 256]
)
def test_bad_names_are_refused(name: str | None) -> None:
    with pytest.raises(InvalidFilename):
        sanitize_filename(name)


def test_good_names_are_kept() -> None:
    assert sanitize_filename("  Relat\u00f3rio Q3 (final).pdf ") == "Relat\u00f3rio Q3 (final).pdf"
    assert sanitize_filename("cafe\u0301.txt") == "caf\u00e9.txt"  # NFC
