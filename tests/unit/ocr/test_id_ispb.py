"""A decoded PIX id's ISPB settled by the institutions Banco Central do Brasil
lists (:mod:`folio_worker_ocr.ocr.id_ispb`): the shipped list, a misread
ISPB digit read as the known code, an unknown ISPB kept only when sure."""

from __future__ import annotations

from importlib import resources

import numpy as np
from PIL import Image
from test_id_ctc_dates import BLANK, CHARS, INDEX, _Spelled

from folio_worker_ocr.ocr.id_ctc import GRAMMAR, Line, decode, vote
from folio_worker_ocr.ocr.id_ispb import ISPB_AT, ISPB_DIGITS, known, known_codes, prior
from folio_worker_ocr.ocr.id_read import TRUST, read_e2e, settle_coarse

#: An id of Banco Inter (ISPB 00416968).
E2E = "E00416968202612051732aB3dE4fG5hK"
COLUMNS = [[INDEX[c] for c in allowed if c in INDEX] for allowed in GRAMMAR]


def _columns(text: str, split: dict[int, dict[str, float]]) -> np.ndarray:
    """A probability matrix spelling ``text``, a blank around each character;
    at the positions of ``split``, those characters' probabilities instead."""
    rows = []
    for i, char in enumerate(text):
        for column in ({}, split.get(i, {char: 1.0}), {}):
            row = np.full(len(CHARS), 1e-4)
            if not column:
                row[0] = 1.0
            for c, p in column.items():
                row[INDEX[c]] = p
            rows.append(row / row.sum())
    return np.array(rows)


def _read(probs: np.ndarray, text: str) -> str | None:
    """What a coarse page keeps of a line PP-OCR and Tesseract both read as
    ``text``, whose probabilities are ``probs``."""
    image = Image.new("L", (400, 20), 230)
    line = Line(((0.0, 0.0), (400.0, 0.0), (400.0, 20.0), (0.0, 20.0)), text)
    decoded = read_e2e(_Spelled(probs), image, [line])
    return settle_coarse(text, decoded, tesseract=text)


def test_the_list_ships_the_institutions_eight_digit_codes() -> None:
    text = (resources.files("folio_shared") / "ispb.txt").read_text("utf-8")
    # the list names its source
    assert text.startswith("# ")
    assert "Banco Central do Brasil" in text.splitlines()[0]
    codes = known_codes()
    assert len(codes) >= 500
    assert all(len(code) == 8 and code.isdigit() for code in codes)
    # Banco do Brasil, Caixa, Nu Pagamentos, Itaú
    assert {"00000000", "00360305", "18236120", "60701190"} <= codes
    assert known(E2E)


def test_a_misread_ispb_digit_is_read_as_the_known_institution() -> None:
    # Given a line whose 4th ISPB digit favours 1 over the 4 printed (00116968
    # is no institution's code), which PP-OCR and Tesseract both read so
    misread = E2E[:3] + "1" + E2E[4:]
    assert not known(misread)
    probs = _columns(misread, {3: {"1": 0.8, "4": 0.2}})
    # Then the decoding alone, sure enough to be kept, reads the misread id
    reading = decode(probs, COLUMNS, BLANK)
    assert reading is not None
    free = vote([reading])
    assert free is not None
    assert free.text == misread
    assert free.confidence >= TRUST
    # but the known ISPBs settle it: the page keeps the id as printed
    assert _read(probs, misread) == E2E
    settled = prior(free)
    assert settled.text == E2E
    assert settled.confidence >= TRUST


def test_an_unknown_ispb_is_kept_only_when_the_decoding_is_sure() -> None:
    # Given an id whose ISPB is no institution's in the list (a new participant),
    # none of its digits a likely misreading of a known code
    new = "E98765432" + E2E[ISPB_AT + ISPB_DIGITS :]
    assert not known(new)
    # When every character is read sure, it is kept
    assert _read(_columns(new, {}), new) == new
    # but when one of its characters is unsure, it is withheld, even where both
    # engines read it so (a wrong id is worse than none)
    unsure = _columns(new, {25: {"E": 0.7, "F": 0.3}})
    decoded = vote([r for r in [decode(unsure, COLUMNS, BLANK)] if r is not None])
    assert decoded is not None
    assert decoded.text == new
    assert TRUST <= decoded.confidence < 0.9
    assert _read(unsure, new) is None
    # while the same uncertainty in an id of a known institution keeps it
    assert _read(_columns(E2E, {25: {"E": 0.7, "F": 0.3}}), E2E) == E2E


def test_without_a_decoding_an_unknown_ispb_is_withheld() -> None:
    new = "E98765432" + E2E[ISPB_AT + ISPB_DIGITS :]
    assert settle_coarse(new, None, tesseract=new) is None
    assert settle_coarse(E2E, None, tesseract=E2E) == E2E
    assert settle_coarse(None, None) is None
