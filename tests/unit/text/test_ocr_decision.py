"""When a page's text layer is usable and when the page needs OCR."""

from __future__ import annotations

import pytest

from folio_worker_docs.text.ocr_decision import PageTextStatus, classify_page, needs_ocr

PROSE = "The committee approved the budget for the new library after a long debate. " * 4


@pytest.mark.parametrize(
    ("text", "ratio", "expected"),
    [
        (PROSE, None, PageTextStatus.USABLE),
        (PROSE, 0.0, PageTextStatus.USABLE),
        (PROSE * 3, 0.9, PageTextStatus.USABLE),  # a text page with a large figure
        ("", None, PageTextStatus.EMPTY),
        ("   \n\t  ", 1.0, PageTextStatus.EMPTY),
        ("- 2 -", 0.0, PageTextStatus.EMPTY),
        ("\ufffd" * 200 + " abcd", None, PageTextStatus.GARBAGE),
        ("\ue000\ue001\ue002" * 50 + "word", None, PageTextStatus.GARBAGE),
        ("#$%&!*" * 40 + " abc", None, PageTextStatus.GARBAGE),
        ("Page 7 of 12", 0.95, PageTextStatus.MOSTLY_IMAGE),
    ],
)
def test_classify_page(text: str, ratio: float | None, expected: PageTextStatus) -> None:
    assert classify_page(text, ratio) is expected
    assert needs_ocr(text, ratio) is (expected is not PageTextStatus.USABLE)


def test_non_latin_text_is_usable() -> None:
    assert not needs_ocr("Συμβούλιο ενέκρινε τον προϋπολογισμό. 委员会批准了预算。" * 3)
