"""End-to-end ids voted from several readings, pages that need a finer reading,
and the setting that turns re-reading off."""

from __future__ import annotations

from datetime import datetime

import pytest

from folio_shared.settings import FolioSettings
from folio_worker_ocr.ocr.engine import finer_kept
from folio_worker_ocr.ocr.glyphs import shaped
from folio_worker_ocr.ocr.id_regions import has_valid_e2e, pix_without_id
from folio_worker_ocr.ocr.pool import options_from_settings
from folio_worker_ocr.ocr.reread import best_e2e

E2E = "E00416968202612051732aB3dE4fG5hI"
PAID = [datetime(2026, 12, 5)]


def test_each_character_goes_to_the_most_readings() -> None:
    # Given three readings, each wrong in a different place (one in the date)
    readings = [
        "E00416968202612051732aB3dE4fG5hl",  # l for I
        "E0O416968202612051732aB3dE4fG5hI",  # O where a digit goes
        "E00416968202612051732aB30E4fG5hI",  # 0 for d
    ]
    # When they are voted
    # Then the id most readings agree on comes out, characters in doubt settled
    assert best_e2e(readings, []) == E2E


def test_an_embedded_date_far_from_the_page_loses_to_a_near_one() -> None:
    # Given two valid readings, one with 2028 for 2026 in its embedded date
    far = "E00416968202812051732aB3dE4fG5hI"
    # When the page prints the payment date, Then the reading near it wins
    assert best_e2e([far, far, E2E], PAID) == E2E
    # and without a date on the page, the most frequent does
    assert best_e2e([far, far, E2E], []) == far


def test_readings_with_specks_or_no_real_date_give_no_id() -> None:
    # a speck before the id is dropped
    assert best_e2e(["." + E2E, "|" + E2E], []) == E2E
    # month 13 is no date: no reading is valid
    assert best_e2e(["E00416968202613051732aB3dE4fG5hI"], []) is None
    assert best_e2e(["too short", ""], PAID) is None


def test_a_receipt_without_a_valid_id_asks_for_a_finer_reading() -> None:
    assert pix_without_id("Pix enviado\nValor R$ 10,00\nID da transação:\nE0041 69")
    assert not pix_without_id(f"Pix enviado\nID da transação:\n{E2E[:20]}\n{E2E[20:]}")
    assert not pix_without_id("Carta de apresentação\nPrezados senhores")
    assert has_valid_e2e(f"id {E2E.replace('0', 'O', 2)} fim")


def test_rereading_is_turned_off_by_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert options_from_settings(FolioSettings()).reread_ids is True
    monkeypatch.setenv("FOLIO_OCR_REREAD_IDS", "false")
    monkeypatch.setenv("FOLIO_OCR_REREAD_LOW_DPI", "0")
    options = options_from_settings(FolioSettings())
    assert options.reread_ids is False
    assert options.upscale_below_dpi == 0


def test_round_glyphs_are_told_apart_by_their_size() -> None:
    # Given a line read as digits: 20-pixel-high digits 12 wide, then three
    # round glyphs all read "0": one short, one as wide as a digit, one wider
    def box(x: int, top: int, width: int) -> tuple[int, int, int, int]:
        return (x, top, x + width, 40)

    line = [(d, box(14 * i, 20, 12)) for i, d in enumerate("23461789")]
    line += [("0", box(120, 26, 12)), ("0", box(134, 20, 12)), ("0", box(148, 20, 17))]
    # Then they come back as "o", "0" and "O"
    assert shaped(line) == "23461789o0O"
    # and a line with too few digits to measure stays as read
    assert shaped(line[6:]) == "89000"


def test_a_coarse_page_needs_readings_that_agree_on_the_whole_id() -> None:
    # Given readings that each differ from the voted id somewhere
    readings = [
        "E00416968202612051732aB3dE4fG5hl",
        "E00416968202612051732aB30E4fG5hI",
        "E00416968202612051732aB3dE4iG5hI",
    ]
    # Then the vote stands where readings can be trusted, not on a coarse page
    assert best_e2e(readings, []) == E2E
    assert best_e2e(readings, [], agree=2) is None
    assert best_e2e([*readings, E2E], [], agree=2) is None
    assert best_e2e([*readings, E2E, E2E], [], agree=2) == E2E


def test_a_finer_reading_of_a_coarse_page_is_kept_when_it_reads_more() -> None:
    coarse = [90] * 20  # the first reading's word confidences
    no_id = "Pix enviado\nNome Luíza Gomes\nID da transação:\nE0041 69"
    # a finer reading with a valid id is kept, however little else it read
    assert finer_kept(f"Pix enviado\nID da transação:\n{E2E}", [40], coarse)
    # without one, it is kept when it read more words (a section the coarse
    # reading lost) or the same words surer ...
    assert finer_kept(no_id, [85] * 24, coarse)
    assert finer_kept(no_id, [95] * 20, coarse)
    # ... and not when it read less
    assert not finer_kept(no_id, [90] * 15, coarse)
    assert not finer_kept(no_id, [60] * 20, coarse)
