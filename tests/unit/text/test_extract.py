"""Text extraction per document type, on documents made by the tests."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from text_documents import make_docx, make_pdf

from folio_shared.errors import UnsupportedFileType
from folio_worker_docs.text.errors import CorruptDocument, EncryptedDocument, TruncatedDocument
from folio_worker_docs.text.extract import extract_document


def test_pdf_text_per_page() -> None:
    data = make_pdf(["First page about volcanoes.\nLava flows.", "Second page on glaciers."])
    result = extract_document("pdf", data)
    assert [p.page_no for p in result.pages] == [1, 2]
    assert result.pages[0].text == "First page about volcanoes.\nLava flows."
    assert result.pages[1].text == "Second page on glaciers."
    assert result.ocr_pages == []


def test_pdf_from_a_file_path(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(make_pdf(["Text from a file on disk."]))
    assert extract_document("pdf", path).pages[0].text == "Text from a file on disk."


def test_mixed_pdf_marks_only_the_scanned_pages_for_ocr() -> None:
    text = "A page with a proper text layer and enough words to be usable."
    data = make_pdf([text, None, text], image_pages=frozenset({2}))
    result = extract_document("pdf", data)
    assert result.ocr_pages == [2]
    assert result.pages[1].ocr_reason == "empty"
    assert result.pages[1].image_area_ratio == pytest.approx(1.0, abs=0.01)
    assert result.pages[0].image_area_ratio == 0.0


def test_scan_with_a_thin_text_overlay_needs_ocr() -> None:
    data = make_pdf(["Page 7"], image_pages=frozenset({1}))
    page = extract_document("pdf", data).pages[0]
    assert page.needs_ocr
    assert page.ocr_reason == "mostly_image"


def test_encrypted_pdf_fails_naming_encryption() -> None:
    with pytest.raises(EncryptedDocument, match="encrypted"):
        extract_document("pdf", make_pdf(["secret"], encrypt="hunter2"))


def test_truncated_pdf_fails_naming_truncation() -> None:
    data = make_pdf(["one", "two", "three"])
    with pytest.raises(TruncatedDocument, match="truncated"):
        extract_document("pdf", data[: len(data) * 2 // 3])


def test_corrupt_pdf_fails_naming_corruption() -> None:
    data = bytearray(make_pdf(["some text"]))
    body = data.index(b"obj")
    data[body : body + 400] = b"\x00" * 400  # destroy the objects, keep header and %%EOF
    with pytest.raises(CorruptDocument, match="corrupt"):
        extract_document("pdf", bytes(data))


def test_not_a_pdf_at_all() -> None:
    with pytest.raises(CorruptDocument, match="not a PDF"):
        extract_document("pdf", b"hello, this is not a pdf %%EOF")


def test_markdown_keeps_text_and_title() -> None:
    md = "# Bee keeping\n\nHives need *sun* in the morning.\n\n- smoke\n- veil\n"
    result = extract_document("markdown", md.encode())
    text = "# Bee keeping\n\nHives need sun in the morning.\n\n- smoke\n- veil"
    assert result.pages[0].text == text
    assert result.metadata["title"] == "Bee keeping"


def test_plain_text_detects_legacy_encodings() -> None:
    text = (
        "Café crème brûlée à la façon de grand-mère, déjà très appréciée. Le garçon était "
        "très fâché contre sa sœur, qui préférait les crêpes aux gâteaux. Où est la bibliothèque?"
    )
    result = extract_document("text", text.encode("cp1252"))
    assert result.pages[0].text == text


def test_plain_text_never_crashes_on_bad_bytes() -> None:
    data = b"valid start \xff\xfe\xfa\x00\x01 garbage \x80\x81 end"
    result = extract_document("text", data)
    assert "valid start" in result.pages[0].text
    assert "end" in result.pages[0].text
    assert "\x00" not in result.pages[0].text


def test_plain_text_with_bom_and_form_feeds_makes_pages() -> None:
    data = "page one\fpage two".encode("utf-16")
    result = extract_document("text", data)
    assert [p.text for p in result.pages] == ["page one", "page two"]


def test_html_readable_text_without_scripts_or_styles() -> None:
    html = (
        "<html><head><title>Tides</title><style>p{color:red}</style></head><body>"
        "<h1>How <em>tides</em> work</h1><script>alert('x')</script>"
        "<p>The moon pulls the oceans.</p><noscript>enable js</noscript>"
        "<table><tr><th>Place</th><th>Range</th></tr><tr><td>Fundy</td><td>16 m</td></tr></table>"
        "</body></html>"
    )
    result = extract_document("html", html.encode())
    text = result.pages[0].text
    assert "How tides work" in text
    assert "The moon pulls the oceans." in text
    assert "Fundy | 16 m" in text
    assert "alert" not in text
    assert "color" not in text
    assert "enable js" not in text
    assert result.metadata["title"] == "Tides"


def test_docx_paragraphs_tables_and_page_breaks() -> None:
    data = make_docx(
        [["Orchard report.", "Apples did well."], ["Second page: pears."]],
        table=[["Fruit", "Tonnes"], ["Apple", "12"]],
    )
    result = extract_document("docx", data)
    assert [p.page_no for p in result.pages] == [1, 2]
    assert result.pages[0].text == "Orchard report.\nApples did well.\nFruit | Tonnes\nApple | 12"
    assert result.pages[1].text == "Second page: pears."


def test_corrupt_docx_fails_clearly() -> None:
    with pytest.raises(CorruptDocument, match="DOCX"):
        extract_document("docx", b"PK\x03\x04 not really a zip")


def test_images_are_one_page_to_ocr() -> None:
    result = extract_document("png", b"\x89PNG...")
    assert result.ocr_pages == [1]


def test_unknown_kind_is_unsupported() -> None:
    with pytest.raises(UnsupportedFileType):
        extract_document("exe", b"MZ")


def test_results_are_picklable_for_the_isolation_pool() -> None:
    result = extract_document("pdf", make_pdf(["pickle me"]))
    assert pickle.loads(pickle.dumps(result)) == result  # noqa: S301 (own data)
    assert pickle.loads(pickle.dumps(extract_document)) is extract_document  # noqa: S301


def test_pdf_pages_are_read_in_batches_with_the_same_result() -> None:
    from folio_worker_docs.text.pdf import extract_pdf_pages, pdf_page_count

    text = "A page with a proper text layer and enough words to be usable."
    data = make_pdf(
        [f"{text} {n}" if n != 4 else None for n in range(1, 8)], image_pages=frozenset({4})
    )
    whole = extract_document("pdf", data).pages
    assert pdf_page_count(data) == 7
    some = extract_pdf_pages(data, [2, 4, 7])
    assert [p.page_no for p in some] == [2, 4, 7]
    assert some == [whole[1], whole[3], whole[6]]
    assert some[1].needs_ocr
    assert extract_pdf_pages(data, []) == []
    with pytest.raises(ValueError, match="page 8"):
        extract_pdf_pages(data, [8])


def test_pdf_page_count_checks_the_file_like_extraction() -> None:
    from folio_worker_docs.text.pdf import pdf_page_count

    with pytest.raises(EncryptedDocument):
        pdf_page_count(make_pdf(["secret"], encrypt="hunter2"))
    data = make_pdf(["one", "two", "three"])
    with pytest.raises(TruncatedDocument):
        pdf_page_count(data[: len(data) * 2 // 3])
    with pytest.raises(CorruptDocument, match="not a PDF"):
        pdf_page_count(b"hello %%EOF")


def test_the_first_batch_comes_with_the_page_count_in_one_call() -> None:
    from folio_shared.isolation import IsolatedPool
    from folio_worker_docs.text.pdf import pdf_start

    text = "A page with a proper text layer and enough words to be usable."
    data = make_pdf(
        [f"{text} {n}" if n != 2 else None for n in range(1, 4)], image_pages=frozenset({2})
    )
    whole = extract_document("pdf", data).pages
    # pages past the end are left out, not an error: the count is not known yet
    assert pdf_start(data, list(range(1, 26))) == (3, whole)
    assert pdf_start(data, [3]) == (3, [whole[2]])
    # the same checks as the page count, and the reply crosses the child's wire
    with pytest.raises(EncryptedDocument):
        pdf_start(make_pdf(["secret"], encrypt="hunter2"), [1])
    with pytest.raises(TruncatedDocument):
        pdf_start(data[: len(data) * 2 // 3], [1])
    with IsolatedPool(1) as pool:
        count, pages = pool.run(pdf_start, data, [1, 2])
    assert count == 3
    assert pages == whole[:2]
    assert pages[1].needs_ocr
