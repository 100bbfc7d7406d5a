"""A photo's PIX id decoded under the id's grammar is sure only when its line,
slightly blurred, decodes to the same id (:func:`folio_worker_ocr.ocr.id_read.read_e2e`,
``shaky``): a character read right only at the photo's exact pixels is a guess."""

from __future__ import annotations

import numpy as np
from PIL import Image
from test_id_ctc_dates import BLANK, INDEX, _probs

from folio_worker_ocr.ocr.id_ctc import Line, Recogniser
from folio_worker_ocr.ocr.id_read import TRUST, read_e2e, settle_coarse, sure

#: An id of Banco Inter (ISPB 00416968).
E2E = "E00416968202612051732aB3dE4fG5hK"
#: The same id one tail letter off (``B`` read for ``b``, or the reverse).
OTHER = E2E[:22] + "b" + E2E[23:]


class _Blurred(Recogniser):
    """The real decoding over given column probabilities: ``sharp`` for a
    line as cut from the photo (a 1-pixel checkerboard), ``blurred`` for the
    same line blurred (its checkerboard smoothed); by the line's width."""

    def __init__(self, sharp: dict[int, np.ndarray], blurred: dict[int, np.ndarray]) -> None:
        super().__init__()
        self._index = INDEX
        self._blank = BLANK
        self._sharp, self._blurred = sharp, blurred
        self.calls = 0

    def probabilities(self, line: Image.Image) -> np.ndarray:
        self.calls += 1
        pixels = np.asarray(line, dtype=np.int16)
        crisp = int(np.abs(np.diff(pixels, axis=1)).max()) > 150
        return (self._sharp if crisp else self._blurred)[line.width]


def _page(*widths: int) -> tuple[Image.Image, list[Line]]:
    """A photo of 1-pixel checkerboard lines of ``widths``, 20 pixels high, and the lines."""
    height = 30 * len(widths)
    board = (np.indices((height, max(widths))).sum(axis=0) % 2 * 255).astype(np.uint8)
    lines = []
    for i, w in enumerate(widths):
        top, bottom = 30.0 * i, 30.0 * i + 20
        lines.append(Line(((0.0, top), (float(w), top), (float(w), bottom), (0.0, bottom)), E2E))
    return Image.fromarray(board), lines


def test_a_confident_decoding_the_blur_reads_the_same_is_kept() -> None:
    image, lines = _page(400)
    sure_probs = _probs(E2E, {})
    decoded = read_e2e(_Blurred({400: sure_probs}, {400: sure_probs}), image, lines)
    assert decoded is not None
    assert decoded.text == E2E
    assert not decoded.shaky
    assert sure(decoded)
    assert settle_coarse(None, decoded) == E2E


def test_a_confident_decoding_the_blur_reads_otherwise_is_withheld() -> None:
    image, lines = _page(400)
    # Given a line whose every character is read sure as cut from the photo,
    # but whose blurred copy reads one tail letter otherwise
    recogniser = _Blurred({400: _probs(E2E, {})}, {400: _probs(OTHER, {})})
    decoded = read_e2e(recogniser, image, lines)
    assert decoded is not None
    assert decoded.text == E2E
    assert decoded.confidence >= TRUST
    # Then it is not sure: it replaces no id, and no id is kept for it
    assert decoded.shaky
    assert not sure(decoded)
    assert settle_coarse(None, decoded) is None
    assert settle_coarse(OTHER, decoded, tesseract=OTHER) is None


def test_an_unsure_decoding_is_not_read_again_blurred() -> None:
    image, lines = _page(400)
    unsure = _probs(E2E, {25: {"E": 0.4, "F": 0.35, "D": 0.25}})
    recogniser = _Blurred({400: unsure}, {400: _probs(OTHER, {})})
    decoded = read_e2e(recogniser, image, lines)
    assert decoded is not None
    assert decoded.confidence < TRUST
    assert not decoded.shaky
    assert recogniser.calls == 1  # the line once, no blurred copy


def test_a_steady_decoding_comes_before_a_more_confident_shaky_one() -> None:
    # Given two lines: the first sure but shaky, the second less sure but steady
    image, lines = _page(400, 300)
    sharp = {400: _probs(OTHER, {}), 300: _probs(E2E, {25: {"E": 0.8, "F": 0.2}})}
    blurred = {400: _probs(E2E, {}), 300: sharp[300]}
    decoded = read_e2e(_Blurred(sharp, blurred), image, lines)
    assert decoded is not None
    assert decoded.text == E2E
    assert sure(decoded)
