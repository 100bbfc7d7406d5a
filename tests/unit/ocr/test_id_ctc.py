"""PIX end-to-end ids decoded from PP-OCR's character probabilities under the
id's grammar (:mod:`folio_worker_ocr.ocr.id_ctc`): the decoding itself on
made-up probabilities, the real model on a rendered line, and how a decoded
id and its confidence settle a coarse page's id."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from folio_worker_ocr.ocr.engine import engines_without_id
from folio_worker_ocr.ocr.id_ctc import GRAMMAR, Line, Recogniser, decode, vote
from folio_worker_ocr.ocr.id_read import TRUST, read_e2e, settle_coarse

E2E = "E00416968202612051732aB3dE4fG5hK"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#: A small alphabet standing in for the model's: blank first, space last.
CHARS = ["<blank>", *":ID", *"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHJKLMNOPQRSTUVWXYZ", " "]
INDEX = {c: i for i, c in enumerate(CHARS) if 0 < i < len(CHARS) - 1}
COLUMNS = [[INDEX[c] for c in allowed if c in INDEX] for allowed in GRAMMAR]
BLANK = [0, len(CHARS) - 1]


def _columns(sequence: list[dict[str, float]]) -> np.ndarray:
    """A probability matrix: per column, the given characters' probabilities,
    the rest spread thin; a column of ``{}`` is a blank."""
    rows = []
    for column in sequence:
        row = np.full(len(CHARS), 1e-4)
        if not column:
            row[0] = 1.0
        for char, p in column.items():
            row[INDEX.get(char, len(CHARS) - 1)] = p
        rows.append(row / row.sum())
    return np.array(rows)


def _spelled(text: str) -> list[dict[str, float]]:
    out: list[dict[str, float]] = []
    for char in text:
        out += [{}, {char: 1.0}, {}]
    return out


def test_the_grammar_settles_what_the_best_characters_misread() -> None:
    # Given a line "ID: <id>" whose columns favour an O where a digit must be
    columns = _spelled("ID: ")
    for i, char in enumerate(E2E):
        if i == 6:  # its 9 read as an O, by a little
            columns += [{}, {"O": 0.55, char: 0.45}, {}]
        else:
            columns += [{}, {char: 1.0}, {}]
    probs = _columns(columns)
    # Then the best characters alone do not read the id
    greedy = "".join(CHARS[i] for i in probs.argmax(axis=1) if 0 < i < len(CHARS) - 1)
    assert E2E not in greedy
    # but the decoding under the grammar does, past the label
    reading = decode(probs, COLUMNS, BLANK)
    assert reading is not None
    assert reading.text == E2E
    # and sure of it: among the digits, the only one the column holds
    voted = vote([reading])
    assert voted is not None
    assert voted.confidence > 0.99


def test_text_after_the_id_is_free_and_a_short_line_reads_nothing() -> None:
    # Given an id followed on its line by more characters (a border, a number)
    probs = _columns(_spelled(E2E + " 0800 12"))
    # Then the id is read without them
    reading = decode(probs, COLUMNS, BLANK)
    assert reading is not None
    assert reading.text == E2E
    # and a line with fewer columns than the id has characters reads none
    assert decode(_columns(_spelled("E0041"))[:10], COLUMNS, BLANK) is None


def test_the_real_model_decodes_a_rendered_label_and_id() -> None:
    # Given a grey line "Identificador: <id>" rendered at a small size and blurred
    font = ImageFont.truetype(FONT, 13)
    text = f"Identificador: {E2E}"
    image = Image.new("L", (360, 24), 235)
    ImageDraw.Draw(image).text((4, 4), text, font=font, fill=90)
    image = image.filter(ImageFilter.GaussianBlur(0.5))
    right = 4 + ImageDraw.Draw(image).textlength(text, font=font)
    line = Line(((0.0, 0.0), (right + 4, 0.0), (right + 4, 24.0), (0.0, 24.0)), text)
    # When the line is read through PP-OCR's recogniser under the grammar
    decoded = read_e2e(Recogniser(), image, [line])
    # Then the id comes back whole, sure of itself
    assert decoded is not None
    assert decoded.text == E2E
    assert decoded.confidence >= TRUST


def test_only_a_sure_decoding_replaces_and_an_unsure_one_withholds() -> None:
    other = "E00416968202612051732aB3dE4fG5hX"
    columns = _spelled(E2E)
    sure = vote([r for r in [decode(_columns(columns), COLUMNS, BLANK)] if r is not None])
    assert sure is not None
    assert sure.confidence >= TRUST
    # Given the engines' pick and a sure decoding that differ: the decoding wins
    assert settle_coarse(other, sure) == E2E
    assert settle_coarse(None, sure) == E2E
    # Given an unsure decoding (its last character split three ways)
    split = [*columns[:-2], {"K": 0.34, "X": 0.33, "k": 0.33}, {}]
    unsure = vote([r for r in [decode(_columns(split), COLUMNS, BLANK)] if r is not None])
    assert unsure is not None
    assert unsure.confidence < TRUST
    # Then an id the engines picked and the decoding disagrees with is withheld
    assert settle_coarse(other if unsure.text != other else E2E, unsure) is None
    # and so is one the engines picked as decoded, when only PP-OCR read it
    # (its reading and its decoding are one engine's word, not two agreeing)
    assert settle_coarse(unsure.text, unsure) is None
    assert settle_coarse(unsure.text, unsure, tesseract=other) is None
    # but kept when Tesseract read it too, or when there was nothing to decode
    assert settle_coarse(unsure.text, unsure, tesseract=unsure.text) == unsure.text
    assert settle_coarse(other, None) == other


def test_a_decoded_id_does_not_change_whether_a_photo_is_read_again() -> None:
    # Given a PIX receipt's text whose id only the decoding read (the engines
    # read none in its region)
    text = f"Comprovante Pix\nID da transação: {E2E}\n"
    # Then the page counts as without an id, as the engines alone left it, so
    # it is read again upscaled as before (and its other fields with it)
    assert engines_without_id(text, [(None, E2E)])
    # and an id the engines read, whatever the decoding kept, counts as found
    assert not engines_without_id("Comprovante Pix\nID da transação: E0041\n", [(E2E, None)])
    # and with nothing decoded, the text decides
    assert not engines_without_id(text, [])
    assert engines_without_id("Comprovante Pix\nID da transação: E0041\n", [])
