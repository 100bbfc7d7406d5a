"""The embedded date-time of a PIX end-to-end id, decoded under the page's
dates (:func:`folio_worker_ocr.ocr.id_ctc.grammar`): a photo's 6-pixel
digits are misread (``2028`` for ``2026``), the dates printed on the page,
read in larger type, and a real date-time's digits settle them."""

from __future__ import annotations

from datetime import date

import numpy as np
from PIL import Image

from folio_worker_ocr.ocr.id_ctc import (
    DATE_AT,
    GRAMMAR,
    Recogniser,
    decode,
    grammar,
    vote,
)
from folio_worker_ocr.ocr.id_read import _dated
from folio_worker_ocr.ocr.page_dates import days_on

E2E = "E00416968202612051732aB3dE4fG5hK"
#: A small alphabet standing in for the model's: blank first, space last.
CHARS = ["<blank>", *":ID", *"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHJKLMNOPQRSTUVWXYZ", " "]
INDEX = {c: i for i, c in enumerate(CHARS) if 0 < i < len(CHARS) - 1}
BLANK = [0, len(CHARS) - 1]


def _probs(text: str, doubt: dict[int, dict[str, float]]) -> np.ndarray:
    """Columns spelling ``text`` (a blank between characters); at the
    positions of ``doubt``, those characters' probabilities instead."""
    rows = []
    for i, char in enumerate(text):
        for column in ({}, doubt.get(i, {char: 1.0}), {}):
            row = np.full(len(CHARS), 1e-4)
            row[0] = 0.0 if column else 1.0
            for c, p in column.items():
                row[INDEX[c]] = p
            rows.append(row / row.sum())
    return np.array(rows)


def _decoded(probs: np.ndarray, allowed: tuple[str, ...]) -> str:
    columns = [[INDEX[c] for c in chars if c in INDEX] for chars in allowed]
    allowed = tuple("".join(c for c in chars if c in INDEX) for chars in allowed)
    reading = decode(probs, columns, BLANK, allowed)
    assert reading is not None
    return reading.text


def test_the_page_date_settles_a_misread_year_digit() -> None:
    # Given an id whose year's last digit the line favours as an 8 (2028), by a little
    at = DATE_AT + 3
    probs = _probs(E2E, {at: {"8": 0.55, "6": 0.45}})
    # Then the grammar alone reads 2028 (a real year)
    assert _decoded(probs, GRAMMAR)[DATE_AT : DATE_AT + 4] == "2028"
    # but under the page's date (5 December 2026) the id reads as printed
    assert _decoded(probs, grammar([date(2026, 12, 5)])) == E2E
    # and its confidence counts only the digits the page allows there
    columns = [[INDEX[c] for c in chars if c in INDEX] for chars in grammar([date(2026, 12, 5)])]
    reading = decode(probs, columns, BLANK, grammar([date(2026, 12, 5)]))
    assert reading is not None
    voted = vote([reading])
    assert voted is not None
    assert voted.shares[at] == 1.0


def test_the_utc_date_may_be_the_day_after_the_printed_one() -> None:
    # A payment at 22:30 on 31 December in Brazil carries 1 January in UTC
    allowed = grammar([date(2026, 12, 31)])
    utc = "E0041696820270101" + "0130" + "aB3dE4fG5hK"
    assert _decoded(_probs(utc, {}), allowed) == utc
    # while a month the page does not show is not read
    probs = _probs(E2E, {DATE_AT + 5: {"5": 0.6, "2": 0.4}})  # month 15 or 12
    assert _decoded(probs, allowed)[DATE_AT : DATE_AT + 6] == "202612"


def test_a_real_date_time_settles_digits_without_page_dates() -> None:
    # Given an hour whose tens the line favours as a 7 (71:32, no real hour)
    probs = _probs(E2E, {DATE_AT + 8: {"7": 0.6, "1": 0.4}})
    # Then the real date-time's digits read 17:32, with no date on the page
    assert grammar() != GRAMMAR
    assert _decoded(probs, grammar())[DATE_AT + 8 : DATE_AT + 12] == "1732"


def test_the_page_prints_its_dates_in_figures_and_in_words() -> None:
    text = (
        "Data/hora da operação: 04/04/2026 02:04:00\n"
        "13 de jan. de 2026 às 11:41\n"
        "Quando: 2 de setembro de 2026, 09h14\n"
        "Domingo, 29 de março de 2026, às 08:45 h\n"
        "5 dez 2026 às 14:32\n"
        "Valor: R$ 12,50 em 3 parcelas de 2026 reais\n"
    )
    assert days_on(text) == [
        date(2026, 4, 4),
        date(2026, 1, 13),
        date(2026, 9, 2),
        date(2026, 3, 29),
        date(2026, 12, 5),
    ]


class _Spelled(Recogniser):
    """The real decoding over given column probabilities (the small alphabet)
    in place of the network's output for a line image."""

    def __init__(self, probs: np.ndarray) -> None:
        super().__init__()
        self._index = INDEX
        self._blank = BLANK
        self._probs = probs

    def probabilities(self, line: Image.Image) -> np.ndarray:
        return self._probs


def test_the_page_dates_settle_only_a_date_that_disagrees_and_only_its_digits() -> None:
    line = Image.new("L", (10, 10))
    doubt = {DATE_AT + 3: {"8": 0.55, "6": 0.45}}
    # Given a line whose year reads 2028 by a little, on a page dated 2026
    settled = _dated(_Spelled(_probs(E2E, doubt)), line, grammar([date(2026, 12, 5)]))
    assert settled is not None
    assert settled.text == E2E
    # Given a line whose date agrees with none of the page's in many digits
    # (another number, or another day): it keeps the date it reads
    other = _dated(_Spelled(_probs(E2E, {})), line, grammar([date(2025, 3, 1)]))
    assert other is not None
    assert other.text == E2E
