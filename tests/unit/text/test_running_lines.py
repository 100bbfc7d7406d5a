"""Running headers and footers of PDF pages are read once, not on every page."""

from __future__ import annotations

from text_documents import make_pdf

from folio_worker_docs.text.extract import extract_document
from folio_worker_docs.text.running import drop_running_lines, running_lines

BODIES = [
    "The tenant pays the rent on the first day of the month.\nLate payment costs a fee.",
    "The landlord repairs the roof, the plumbing and the heating.\nDefects are reported.",
    "Either party ends the lease with two months of written notice.\nKeys are returned.",
]


def _page(number: int, body: str) -> str:
    return f"Lease Agreement - Ref. 2024/117\n{body}\nPage {number} of 3 - Confidential"


def test_a_pdf_s_header_and_footer_are_kept_on_its_first_page_only() -> None:
    # Given a three-page PDF with a running header and a numbered footer
    data = make_pdf([_page(n, body) for n, body in enumerate(BODIES, 1)])
    # When its text is extracted
    pages = extract_document("pdf", data).pages
    # Then the first page is whole and the others hold their body only
    assert pages[0].text == _page(1, BODIES[0])
    assert [p.text for p in pages[1:]] == BODIES[1:]


def test_a_batch_of_later_pages_is_trimmed_as_the_whole_document_is() -> None:
    from folio_worker_docs.text.pdf import extract_pdf_pages

    data = make_pdf([_page(n, body) for n, body in enumerate(BODIES, 1)])
    assert [p.text for p in extract_pdf_pages(data, [3])] == [BODIES[2]]


def test_lines_that_differ_from_page_to_page_are_kept() -> None:
    texts = [f"Chapter {name}\nbody {name}\nend of {name}" for name in ("one", "two", "three")]
    assert running_lines(texts) == frozenset()
    data = make_pdf(texts)
    assert [p.text for p in extract_document("pdf", data).pages] == texts


def test_identical_pages_and_pages_of_running_lines_only_are_kept_whole() -> None:
    form = "Application form\nName:\nSigned:"
    assert running_lines([form, form, form]) == frozenset()
    running = running_lines(["Ref 1\nbody a\nPage 1", "Ref 2\nbody b\nPage 2"])
    assert running == frozenset({"ref #", "page #"})
    assert drop_running_lines("Ref 3\nPage 3", running) == "Ref 3\nPage 3"
    assert drop_running_lines("Ref 3\nbody c\nRef 9 in the body\nPage 3", running) == (
        "body c\nRef 9 in the body"
    )


def test_lines_that_differ_only_in_numbers_are_body_not_running() -> None:
    # Given pages of entries alike but for their numbers (a statement, a log)
    pages = [
        "\n".join(f"Page {n}, entry {i}: vessel {n * 100 + i} past the reef." for i in range(8))
        for n in range(1, 4)
    ]
    # Then no entry is taken for a header or footer
    assert running_lines(pages) == frozenset()
    assert [p.text for p in extract_document("pdf", make_pdf(pages)).pages] == pages
