"""The days an OCR page prints, which guide the decoding of a PIX id's date."""

from __future__ import annotations

from datetime import date

from folio_worker_ocr.ocr.page_dates import days_on


def test_a_word_that_starts_like_a_month_is_no_date() -> None:
    assert days_on("Recebemos 5 outros 2026 itens") == []
    assert days_on("Ele marcou 12 marcos 2026") == []


def test_months_in_words_full_abbreviated_or_english() -> None:
    text = "05/12/2026\n5 de dezembro de 2026\n6 dez. 2026\n7 Dec 2026\n8 de março de 2026\n"
    assert days_on(text) == [
        date(2026, 12, 5),
        date(2026, 12, 5),
        date(2026, 12, 6),
        date(2026, 12, 7),
        date(2026, 3, 8),
    ]
